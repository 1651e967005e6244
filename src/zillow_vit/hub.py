"""Share a run and the dataset on the Hugging Face Hub: custom code, model card, dataset card and Parquet files.

The models are custom code: `prepare_for_hub(model)` before `save_pretrained` makes the saved folder load with
`AutoModelForImageClassification.from_pretrained(folder_or_repo, trust_remote_code=True)` in a process that never
imported this project. Datasets are shared as Parquet with the image bytes embedded, which the Hub viewer reads.
"""

import json
import os

from datasets import DatasetDict, DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.table import embed_table_storage
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import (
    CommitOperationAdd,
    DatasetCard,
    DatasetCardData,
    EvalResult,
    HfApi,
    ModelCard,
    ModelCardData,
)

from dataset_builder import TIER_NAMES, BuildReport
from dataset_builder.report import tier_ranges

from .models import HousePhotoProcessor

# metric key suffix in all_results.json -> (row label, metric type on the Hub)
METRICS = {
    "accuracy": ("Accuracy", "accuracy"),
    "f1_macro": ("Macro-F1", "f1"),
    "tier_mae": ("Tier MAE", "mae"),
    "off_by_two_rate": ("Off-by-two rate", "off_by_two_rate"),
}
RUN_FILES_NOT_UPLOADED = [
    "checkpoint-*",
    "training_args.bin",
    "train_results.json",
    "eval_results.json",
    "test_results.json",
]


def prepare_for_hub(model) -> None:
    """Register the model's config, class and image processor for the Auto classes: `save_pretrained` then writes
    `auto_map` into config.json / preprocessor_config.json and copies the .py files (and what they import
    relatively) beside the weights.

    Each call sets a class attribute, so every later save in the process (checkpoints too) carries the code."""
    model.config.register_for_auto_class()
    model.register_for_auto_class("AutoModelForImageClassification")
    HousePhotoProcessor.register_for_auto_class("AutoImageProcessor")


def write_model_card(output_dir, model_name: str, metrics: dict, report: BuildReport) -> ModelCard:
    """Write README.md (metadata + description, tiers, metrics table, usage, dataset build) into a saved run folder.

    `model_name` is the repo id shown in the usage example; `metrics` holds keys such as `eval_accuracy` and
    `test_f1_macro` (the run's all_results.json); the architecture is read from the folder's config.json."""
    with open(os.path.join(output_dir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    architecture = config["architectures"][0]
    eval_results = [
        EvalResult(
            task_type="image-classification",
            dataset_type="zillow_houses",
            dataset_name=report.source,
            dataset_split="test",
            metric_type=hub_type,
            metric_name=label,
            metric_value=metrics[f"test_{name}"],
        )
        for name, (label, hub_type) in METRICS.items()
        if f"test_{name}" in metrics
    ]
    card_data = ModelCardData(
        model_name=model_name,
        library_name="transformers",
        pipeline_tag="image-classification",
        tags=["image-classification", "real-estate", "house-prices", "zillow-vit"],
        metrics=[result.metric_type for result in eval_results],
        eval_results=eval_results or None,
    )
    rows = [
        f"| {label} | {_cell(metrics, f'eval_{name}')} | {_cell(metrics, f'test_{name}')} |"
        for name, (label, _) in METRICS.items()
        if f"eval_{name}" in metrics or f"test_{name}" in metrics
    ]
    max_photos = config["max_photos"]
    photos = "the first photo of each house" if max_photos == 1 else f"the first {max_photos} photos of each house"
    body = f"""
# {model_name}

`{architecture}` (model type `{config["model_type"]}`, custom code from the `zillow-vit` project) tells a house's
price tier from its listing photos; it reads {photos} (`config.max_photos`). The three tiers are the terciles of
the training prices (`config.tier_cut_points`):

**{tier_ranges(config["tier_cut_points"])}**

## Results

| Metric | Validation | Test |
|---|---|---|
{chr(10).join(rows)}

Tier MAE is the mean distance in tiers between prediction and truth; the off-by-two rate is the share of houses
called cheap when expensive or the reverse. Chance accuracy is 0.333.

## How to use

```python
import torch
from transformers import AutoImageProcessor, AutoModelForImageClassification

model = AutoModelForImageClassification.from_pretrained("{model_name}", trust_remote_code=True)
processor = AutoImageProcessor.from_pretrained("{model_name}", trust_remote_code=True)

house = ["front.jpg", "kitchen.jpg", "garden.jpg"]  # paths, URLs or PIL images, in listing order
inputs = processor(house, max_photos=model.config.max_photos)  # pixel_values (1, photos, 3, H, W), photo_mask
with torch.no_grad():
    logits = model(**inputs).logits
print(model.config.id2label[logits.argmax(-1).item()])
```

A batch of houses is a list of such lists: the processor pads every house to the most photos in the batch with
zeros and marks the padding in `photo_mask`. The processor preprocesses exactly as the model was evaluated.

## Training data

```
{report.summary()}
```
"""
    card = ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}")
    card.save(os.path.join(output_dir, "README.md"))
    return card


def _cell(metrics: dict, key: str) -> str:
    return f"{metrics[key]:.3f}" if key in metrics else "–"


def push_run_to_hub(output_dir, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Create the model repo if needed and upload the run folder, without checkpoints and training-only files;
    returns the commit URL."""
    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id  # "name" -> "user/name"
    commit = api.upload_folder(
        repo_id=repo_id,
        folder_path=output_dir,
        ignore_patterns=RUN_FILES_NOT_UPLOADED,
        commit_message="Upload price-tier model",
    )
    return commit.commit_url


def export_dataset(dataset: DatasetDict, report: BuildReport, output_dir) -> DatasetCard:
    """Write the dataset as the Hub lays it out: `data/{split}-00000-of-00001.parquet` with the image bytes embedded,
    README.md (dataset card whose YAML declares the features, splits and data files) and build_report.json.

    `datasets.load_dataset(output_dir)` reads it back with the same features; so does the Hub viewer once uploaded."""
    os.makedirs(os.path.join(output_dir, "data"), exist_ok=True)
    splits, download_size = SplitDict(), 0
    for name, split in dataset.items():
        path = os.path.join(output_dir, "data", f"{name}-00000-of-00001.parquet")
        embedded = split.with_format("arrow").map(embed_table_storage, batched=True)  # image paths -> bytes
        embedded.to_parquet(path)
        download_size += os.path.getsize(path)
        splits.add(SplitInfo(name=name, num_bytes=embedded.data.nbytes, num_examples=len(embedded)))
    card_data = DatasetCardData()
    info = DatasetInfo(
        features=next(iter(dataset.values())).features,
        splits=splits,
        download_size=download_size,
        dataset_size=sum(split.num_bytes for split in splits.values()),
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    data_files = [{"split": name, "path": f"data/{name}-*"} for name in dataset]
    MetadataConfigs({"default": {"data_files": data_files}}).to_dataset_card_data(card_data)
    card = _dataset_card(card_data, report, output_dir)
    card.save(os.path.join(output_dir, "README.md"))
    report.save(output_dir)
    return card


def push_dataset_to_hub(
    dataset: DatasetDict, report: BuildReport, repo_id: str, token: str | None = None, private: bool = False
) -> str:
    """`dataset.push_to_hub` (Parquet shards with embedded images, YAML written by `datasets`), then the card body
    and build_report.json in one more commit; returns that commit's URL."""
    repo_id = dataset.push_to_hub(repo_id, private=private, token=token).repo_url.repo_id  # "name" -> "user/name"
    pushed = DatasetCard.load(repo_id, repo_type="dataset", token=token)
    card = _dataset_card(pushed.data, report, repo_id)
    commit = HfApi(token=token).create_commit(
        repo_id,
        repo_type="dataset",
        operations=[
            CommitOperationAdd("README.md", str(card).encode()),
            CommitOperationAdd(BuildReport.FILE_NAME, report.to_json().encode()),
        ],
        commit_message="Dataset card and build report",
    )
    return commit.commit_url


def _dataset_card(card_data: DatasetCardData, report: BuildReport, location: str) -> DatasetCard:
    """The dataset card: `card_data` (already holding `dataset_info` and `configs`) plus task metadata, and the body."""
    card_data.task_categories = ["image-classification"]
    card_data.tags = ["real-estate", "house-prices", "zillow-vit"]
    card_data.pretty_name = "Houses and their price tiers from listing photos"
    body = f"""
# Houses and their price tiers

One row per house: `id`, `price` (USD), `label` (price tier: {", ".join(TIER_NAMES)}) and `images`, the house's
listing photos in listing order. The splits are drawn per house, stratified by price; the tiers are the terciles
of the **training** prices, so validation and test labels use the same cut points:

**{tier_ranges(report.cut_points)}**

```python
from datasets import load_dataset

houses = load_dataset("{location}")
houses["train"].features["label"].names  # {list(TIER_NAMES)}
```

## How it was built

Built by `dataset_builder` of the `zillow-vit` project; `build_report.json` lists every house skipped and
photo dropped, with the reason.

```
{report.summary()}
```

## Citation

<!-- Add a BibTeX entry here if this dataset or its source is published. -->
"""
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n{body}")
