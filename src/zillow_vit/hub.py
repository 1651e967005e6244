"""Share a run and the dataset on the Hugging Face Hub: custom code, house pipeline, model and dataset cards, Parquet.

The models are custom code: `prepare_for_hub(model)` before `save_pretrained` makes the saved folder load with
`AutoModelForImageClassification.from_pretrained(folder_or_repo, trust_remote_code=True)` and
`pipeline(model=folder_or_repo, trust_remote_code=True)` in a process that never imported this project. Datasets are
shared as Parquet with the image bytes embedded, which the Hub viewer reads. What is shared carries no absolute path
of this machine: cards, reports and JSON files name a local file by its name only (`without_machine_paths`).
"""

import glob
import json
import math
import os
import re

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
from huggingface_hub.utils import filter_repo_objects
from transformers import AutoModelForImageClassification
from transformers.pipelines import PIPELINE_REGISTRY

from dataset_builder import SYNTHETIC, TIER_NAMES, BuildReport
from dataset_builder.report import tier_ranges

from .cli import is_remote
from .models import HousePhotoProcessor
from .models.pipeline_house import TASK, HousePriceTierPipeline

# metric key suffix in all_results.json -> (row label, metric type on the Hub)
METRICS = {
    "accuracy": ("Accuracy", "accuracy"),
    "f1_macro": ("Macro-F1", "f1"),
    "tier_mae": ("Tier MAE", "mae"),
    "off_by_two_rate": ("Off-by-two rate", "off_by_two_rate"),
}
SPLIT_PREFIXES = {"train": "train", "validation": "eval", "test": "test"}  # split -> its metrics' key prefix
RUN_FILES_NOT_UPLOADED = [
    "checkpoint-*",
    "training_args.bin",
    "run_arguments.json",
    "train_results.json",
    "eval_results.json",
    "test_results.json",
]
TEXT_FILES_SHARED = (".json", ".md")  # uploaded without machine paths
CODE_LICENSE = "apache-2.0"  # the project's code, shipped with every model
# An absolute path that starts a word (not the path of a URL): `~/x`, or `/x/y` with two components at least.
MACHINE_PATH = re.compile(r"""(?<![\w.:/~-])(?:~|(?=/[^/\s]+/))(?:/[^\s/"'`<>|()\[\]{},;]+)+/?""")


def prepare_for_hub(model) -> None:
    """Make every later save of `model` (Trainer checkpoints too) load as Hub custom code, pipeline included.

    Registers the config, the model class and the image processor for the Auto classes (`save_pretrained` then
    writes `auto_map` and copies their .py files and what they import relatively, pipeline_house.py included) and
    names the house pipeline in `config.custom_pipelines`.
    """
    model.config.register_for_auto_class()
    model.register_for_auto_class("AutoModelForImageClassification")
    HousePhotoProcessor.register_for_auto_class("AutoImageProcessor")
    model.config.custom_pipelines = register_house_pipeline()


def register_house_pipeline() -> dict:
    """Register the house pipeline with transformers (once per process); returns config.json's `custom_pipelines`,
    written as `Pipeline.save_pretrained` writes it."""
    if TASK not in PIPELINE_REGISTRY.supported_tasks:
        PIPELINE_REGISTRY.register_pipeline(
            TASK, pipeline_class=HousePriceTierPipeline, pt_model=AutoModelForImageClassification, type="image"
        )
    registered = PIPELINE_REGISTRY.supported_tasks[TASK]
    module = HousePriceTierPipeline.__module__.split(".")[-1]
    return {
        TASK: {
            "impl": f"{module}.{HousePriceTierPipeline.__name__}",
            "pt": [model_class.__name__ for model_class in registered["pt"]],
            "type": registered["type"],
        }
    }


def without_machine_paths(text: str) -> str:
    """`text` with every absolute local path (`/home/me/data/houses.json`, `~/houses.json`) replaced by its last
    component (`houses.json`); URLs and relative paths are kept."""
    return MACHINE_PATH.sub(lambda match: match.group(0).rstrip("/").rsplit("/", 1)[-1], text)


def hub_repo_id(name: str | None) -> str | None:
    """`name` if it reads as a Hub repo id (`owner/name`, no local path or listing file here), else None."""
    return name if name and is_remote(name) and not name.startswith(("http://", "https://")) else None


def write_model_card(
    output_dir, model_name: str, metrics: dict, report: BuildReport, training_command: str | None = None
) -> ModelCard:
    """Write README.md into a saved run folder: Hub metadata (license, base model, dataset, pipeline tag, results),
    what the model reads, results with the test-set size, usage through the house pipeline, intended use and
    limitations, the training command and data. No absolute path of this machine appears in it.

    `model_name` is the repo id shown in the usage example; `metrics` holds keys such as `eval_accuracy`,
    `test_f1_macro`, `test_samples` (the houses evaluated) and `backbone_trained` (the run's all_results.json);
    `training_command` defaults to the one recorded in the folder's card, if any. The architecture, head and backbone
    are read from the folder's config.json."""
    with open(os.path.join(output_dir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    dataset_id = hub_repo_id(report.source)
    test_houses = metrics.get("test_samples", report.split_sizes.get("test"))
    training_command = training_command or recorded_training_command(output_dir)
    eval_results = [
        EvalResult(
            task_type="image-classification",
            dataset_type=dataset_id or "zillow_houses",
            dataset_name=report.source,
            dataset_split="test",
            metric_type=hub_type,
            metric_name=label,
            metric_value=metrics[f"test_{name}"],
        )
        for name, (label, hub_type) in METRICS.items()
        if f"test_{name}" in metrics
    ]
    base_model = hub_repo_id(config.get("backbone"))
    card_data = ModelCardData(
        model_name=model_name,
        license=CODE_LICENSE,
        library_name="transformers",
        pipeline_tag="image-classification",
        base_model=base_model,
        datasets=[dataset_id] if dataset_id else None,
        tags=["image-classification", "real-estate", "house-prices", "zillow-vit", "custom_code"],
        metrics=[result.metric_type for result in eval_results],
        eval_results=eval_results or None,
    )
    body = "".join(
        [
            _model_section(model_name, config, base_model, metrics.get("backbone_trained")),
            _model_facts_section(config),
            _results_section(metrics, test_houses),
            _usage_section(model_name, config),
            _limitations_section(),
            _training_section(training_command, report, metrics),
        ]
    )
    card = ModelCard(without_machine_paths(f"---\n{card_data.to_yaml()}\n---\n{body}"))
    card.save(os.path.join(output_dir, "README.md"))
    return card


def _model_section(model_name: str, config: dict, base_model: str | None, backbone_trained: bool | None) -> str:
    max_photos = config["max_photos"]
    facts = " and listing facts (below)" if config.get("listing_facts") else ""
    photos = "the first photo of each house" if max_photos == 1 else f"the first {max_photos} photos of each house"
    flip = (
        ", each also mirrored, the two vectors averaged (`config.test_time_flip`)"
        if config.get("test_time_flip")
        else ""
    )
    backbone = ""
    if config.get("backbone"):
        source = f"[`{base_model}`](https://huggingface.co/{base_model})" if base_model else "a local checkpoint"
        named = f"{source} (`config.backbone`: `{config['backbone']}`)"
        if backbone_trained is False:
            backbone = f"\nIts photo encoder is {named}, frozen: its weights as published, the layers above trained.\n"
        else:  # trained, or not recorded (an older run, or one trained sharded with FSDP/DeepSpeed)
            backbone = f"\nIts photo encoder {'was fine-tuned' if backbone_trained else 'started'} from {named}.\n"
    return f"""
# {model_name}

`{config["architectures"][0]}` (model type `{config["model_type"]}`, {config["head_type"]} head; custom code from
the `zillow-vit` project) tells a house's price tier from its listing photos{facts}. It reads {photos}
(`config.max_photos`){flip}.
{backbone}
The three tiers are the terciles of the training prices (`config.tier_cut_points`):

**{tier_ranges(config["tier_cut_points"])}**
"""


def _model_facts_section(config: dict) -> str:
    """The listing facts the model reads, where in a listing each comes from, and what training taught about it."""
    facts = config.get("listing_facts")
    if not facts:
        return ""
    rows = "\n".join(
        f"| `{fact['name']}` | `{fact['path']}` | {fact['kind']} | {_fact_statistics(fact)} |" for fact in facts
    )
    return f"""
## Listing facts

Beside the photos the model reads these facts of a listing, each as one more token of its house encoder (so its
attention weighs photos against facts). A fact a house lacks counts as missing, which the model has learned too.

| Fact | Path in the listing export | Kind | Read as |
|---|---|---|---|
{rows}

The means, standard deviations and vocabularies come from the **training split only** and live in
`config.listing_facts`; a category value outside the vocabulary reads as "unknown".
"""


def _fact_statistics(fact: dict) -> str:
    if fact["kind"] == "category":
        shown = ", ".join(f"`{value}`" for value in fact["vocabulary"][:3])
        return f"{len(fact['vocabulary'])} known values" + (f" (most frequent: {shown})" if shown else "")
    scale = "log, " if fact["log"] else ""
    return f"standardised ({scale}mean {fact['mean']:.4g}, std {fact['std']:.4g})"


def _typical_facts(facts: list[dict]) -> dict:
    """A value of each fact for the usage example: a number's training mean, a category's most frequent value."""
    typical = {}
    for fact in facts:
        if fact["kind"] == "number":
            typical[fact["name"]] = round(math.exp(fact["mean"]) if fact["log"] else fact["mean"], 2)
        elif fact["vocabulary"]:
            typical[fact["name"]] = fact["vocabulary"][0]
    return typical


def _results_section(metrics: dict, test_houses: int | None) -> str:
    test = f"Test ({test_houses} houses)" if test_houses else "Test"
    rows = [
        f"| {label} | {_cell(metrics, f'eval_{name}')} | {_cell(metrics, f'test_{name}')} |"
        for name, (label, _) in METRICS.items()
        if f"eval_{name}" in metrics or f"test_{name}" in metrics
    ]
    margin = ""
    if test_houses and "test_accuracy" in metrics:
        accuracy = metrics["test_accuracy"]
        half_width = 1.96 * math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / test_houses)
        margin = f"\nOn {test_houses} test houses, the test accuracy has a 95 % interval of about ±{half_width:.2f}."
    return f"""
## Results

| Metric | Validation | {test} |
|---|---|---|
{chr(10).join(rows)}

Tier MAE is the mean distance in tiers between prediction and truth; the off-by-two rate is the share of houses
called cheap when expensive or the reverse. Chance accuracy is 0.333.{margin}
"""


def _usage_section(model_name: str, config: dict) -> str:
    fields = {"tier": ('"expensive"', "the predicted tier")}
    if config["head_type"] == "score":
        fields["score"] = (
            "0.83",
            "the house's place on the price ladder in [0, 1] (cheap 0, average 0.5, expensive 1)",
        )
    else:
        fields["probabilities"] = ('{"cheap": 0.1, "average": 0.2, "expensive": 0.7}', "the probability of each tier")
    fields["photos_read"] = (
        str(min(3, config["max_photos"])),
        "how many photos were read: the first ones, at most `config.max_photos`",
    )
    facts = config.get("listing_facts") or []
    if config["max_photos"] > 1:
        total = "with the facts' attention, sums to 1" if facts else "sums to 1"
        fields["photo_attention"] = ("[0.5, 0.3, 0.2]", f"the attention each photo read got ({total})")
    if facts:
        fields["fact_attention"] = (
            "{" + ", ".join(f'"{fact["name"]}": 0.1' for fact in facts) + "}",
            "the attention each listing fact got",
        )
    house = '["front.jpg", "kitchen.jpg", "garden.jpg"]'
    if facts:
        house = (
            f'{{"images": ["front.jpg", "kitchen.jpg", "garden.jpg"], "facts": {json.dumps(_typical_facts(facts))}}}'
        )
    example = ",\n ".join(f'"{name}": {value}' for name, (value, _) in fields.items())
    meanings = "\n".join(f"- `{name}`: {meaning}" for name, (_, meaning) in fields.items())
    facts_note = (
        'A house is its photos, or `{"images": photos, "facts": {name: value}}` with any of the listing facts '
        "above; a fact not given counts as missing, a name the model does not read is an error.\n\n"
        if facts
        else ""
    )
    stock_scores = (
        " (its scores are a softmax over the distances to the tier targets, not probabilities)"
        if config["head_type"] == "score"
        else ""
    )
    return f"""
## How to use

```python
from transformers import pipeline

house_tier = pipeline(model="{model_name}", trust_remote_code=True)
result = house_tier({house})  # one house: photos (paths, URLs or PIL images) in listing order
print(result["tier"])
```

`result` is a dict such as

```
{{{example}}}
```

{meanings}

{facts_note}A list of houses (a list of such lists) gives a list of results. One photo also works with the stock
image-classification pipeline{stock_scores}:
`pipeline("image-classification", model="{model_name}", trust_remote_code=True)("front.jpg")`.

Without a pipeline, `AutoImageProcessor.from_pretrained("{model_name}", trust_remote_code=True)` turns houses into
`pixel_values` `(houses, photos, 3, H, W)` and `photo_mask` exactly as the model was evaluated, for
`AutoModelForImageClassification.from_pretrained("{model_name}", trust_remote_code=True)`.
"""


def _limitations_section() -> str:
    return """
## Intended use and limitations

- **Intended use**: research and teaching on learning from several photos per item; a demo of what listing photos
  reveal about price. **Not for valuation, lending, insurance or any decision about a property or a person.**
- **Tiers are relative**: cheap / average / expensive are the terciles of the training houses' prices, in the
  training data's market and time; they do not transfer to another region or year.
- **Bias**: price tiers largely proxy location and neighbourhood, which in housing correlate with race and income;
  the model can encode those patterns (staging, renovation, greenery, photo quality) and should not be used to
  rank neighbourhoods or people.
- **Photos belong to their owners** (photographers, agents, listing sites). The model was trained on them; it does
  not license them, and its outputs say nothing about a house beyond its photos.
- Small test sets make the metrics noisy; see the interval under Results.
"""


def _training_section(training_command: str | None, report: BuildReport, metrics: dict) -> str:
    command = training_command or "(not recorded)"
    used = {split: metrics.get(f"{prefix}_samples") for split, prefix in SPLIT_PREFIXES.items()}
    subsets = ""
    if any(count is not None and count != report.split_sizes.get(split) for split, count in used.items()):
        subsets = "Houses used: " + ", ".join(f"{split} {count}" for split, count in used.items() if count is not None)
        subsets += " (a part of the splits below: `--max_train_samples` / `--max_eval_samples`).\n\n"
    return f"""
## Training

Trained with the `zillow-vit` project's `scripts/train.py` (transformers `Trainer`, best checkpoint by validation
accuracy, then evaluated once on test):

```bash
{command}
```

{subsets}Training data (`build_report.json` lists every house skipped and photo dropped, with the reason):

```
{report.summary()}
```

## License

The model code is Apache-2.0. The weights were learned from the training data above and inherit its terms: the
listing photos belong to their owners, and whoever shares or uses these weights must respect the terms under which
the photos were published.
"""


def recorded_training_command(output_dir) -> str | None:
    """The training command the folder's model card records (the bash block of its Training section), if any."""
    path = os.path.join(output_dir, "README.md")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        found = re.search(r"^## Training\n.*?```bash\n(.*?)\n```", handle.read(), re.DOTALL | re.MULTILINE)
    return found.group(1) if found and not found.group(1).startswith("(not recorded") else None


def _cell(metrics: dict, key: str) -> str:
    return f"{metrics[key]:.3f}" if key in metrics else "–"


def push_run_to_hub(output_dir, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Create the model repo if needed and upload the run folder in one commit, without checkpoints and training-only
    files, its JSON and Markdown files without machine paths; returns the commit URL."""
    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id  # "name" -> "user/name"
    commit = api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd(name, _shared_content(os.path.join(output_dir, name)))
            for name in run_files_to_upload(output_dir)
        ],
        commit_message="Upload price-tier model",
    )
    return commit.commit_url


def run_files_to_upload(output_dir) -> list[str]:
    """Paths, relative to the run folder, of the files that go up."""
    files = [
        os.path.relpath(os.path.join(folder, name), output_dir)
        for folder, _, names in os.walk(output_dir)
        for name in names
    ]
    return sorted(filter_repo_objects(files, ignore_patterns=RUN_FILES_NOT_UPLOADED))


def _shared_content(path: str) -> str | bytes:
    """A text file's content without machine paths; any other file by its path."""
    if not path.endswith(TEXT_FILES_SHARED):
        return path
    with open(path, encoding="utf-8") as handle:
        return without_machine_paths(handle.read()).encode()


def public_report(report: BuildReport) -> BuildReport:
    """The build report as shared: source, photos and reasons without machine paths."""
    return BuildReport(**json.loads(without_machine_paths(report.to_json())))


def export_dataset(dataset: DatasetDict, report: BuildReport, output_dir) -> DatasetCard:
    """Write the dataset as the Hub lays it out: `data/{split}-00000-of-00001.parquet` with the image bytes embedded,
    README.md (dataset card whose YAML declares the features, splits and data files) and build_report.json.

    `datasets.load_dataset(output_dir)` reads it back with the same features; so does the Hub viewer once uploaded."""
    os.makedirs(os.path.join(output_dir, "data"), exist_ok=True)
    for stale in glob.glob(os.path.join(output_dir, "data", "*-of-*.parquet")):  # an earlier export's splits
        os.remove(stale)
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
    card = _dataset_card(card_data, report, None)  # where it will be uploaded is not known here
    card.save(os.path.join(output_dir, "README.md"))
    public_report(report).save(output_dir)
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
            CommitOperationAdd(BuildReport.FILE_NAME, public_report(report).to_json().encode()),
        ],
        commit_message="Dataset card and build report",
    )
    return commit.commit_url


def _dataset_card(card_data: DatasetCardData, report: BuildReport, repo_id: str | None) -> DatasetCard:
    """The dataset card: `card_data` (already holding `dataset_info` and `configs`) plus license, size and task
    metadata, and the body, whose `load_dataset` line names `repo_id` (None: not known yet, a placeholder); no
    absolute path of this machine appears in it."""
    synthetic = report.source.startswith(f"{SYNTHETIC} (seed ")  # a synthetic build's source, not a file named so
    card_data.license = CODE_LICENSE if synthetic else "other"
    if not synthetic:
        card_data.license_name = "listing-photos-owners-terms"
    card_data.size_categories = [size_category(sum(report.split_sizes.values()) or report.houses_kept)]
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

houses = load_dataset("{repo_id or "USER/DATASET"}"){"" if repo_id else "  # this dataset's Hub id (or its folder)"}
houses["train"].features["label"].names  # {list(TIER_NAMES)}
```
{_dataset_facts_section(report)}
## Photos: source and terms

{_SYNTHETIC_TERMS if synthetic else _LISTING_TERMS.format(source=report.source)}

## How it was built

Built by `dataset_builder` of the `zillow-vit` project; `build_report.json` lists every house skipped and
photo dropped, with the reason.

```
{report.summary()}
```

## Citation

<!-- Add a BibTeX entry here if this dataset or its source is published. -->
"""
    return DatasetCard(without_machine_paths(f"---\n{card_data.to_yaml()}\n---\n{body}"))


def _dataset_facts_section(report: BuildReport) -> str:
    """The listing-fact columns of the card: each with its kind, where it comes from and how many houses lack it."""
    if not report.listing_fields:
        return ""
    dtypes = {"number": "float32, NaN when missing", "category": "string, null when missing"}
    lines = [
        f"- `{column}` ({info['kind']}: {dtypes.get(info['kind'], info['kind'])}) from the listing's `{info['path']}`: "
        f"{info['missing']} missing, {info['unparseable']} unparseable"
        for column, info in report.listing_fields.items()
    ]
    return (
        "\nListing facts, one column each (missing and unparseable counted over the kept houses):\n\n"
        + "\n".join(lines)
        + "\n"
    )


_SYNTHETIC_TERMS = """No real house and no real photo: the houses, prices and "room photos" are drawn by
`dataset_builder/synthetic.py` of the `zillow-vit` project from the seed in the build summary below. Like the
code that draws them, they are Apache-2.0."""

_LISTING_TERMS = """The photos and prices come from the listing export `{source}`: the photos were fetched from the
URLs (or read from the files) it names. **They belong to their owners** (the photographers, agents and listing
sites that published them), and this dataset grants no right to them: the `license` is `other` because their terms
are their publishers'. Listing sites (Zillow among them) restrict copying and reuse of listing content in their
terms of use; check those terms before sharing this dataset or training on it, keep the repository private when
unsure, and remove a house when its owner asks."""


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bin of a dataset of `rows` rows."""
    bins = ["n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B"]
    return bins[min(max(int(math.log10(max(rows, 1))) - 2, 0), len(bins) - 1)]
