"""Sharing on the Hub, offline: saved runs load as remote code in a process that never imports the project,
model cards, and the Parquet export the dataset viewer reads. Real uploads run only with HF_TOKEN set."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from types import SimpleNamespace

import datasets
import numpy as np
import pytest
import torch
import yaml
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, List, Value
from PIL import Image as PILImage
from transformers import AutoImageProcessor, AutoModelForImageClassification

import zillow_vit  # noqa: F401  (registers the Auto classes)
from dataset_builder import TIER_NAMES, BuildReport, DataError, build_house_dataset
from dataset_builder.report import tier_ranges
from dataset_builder.splits import dollars
from zillow_vit.hub import (
    export_dataset,
    prepare_for_hub,
    push_dataset_to_hub,
    push_run_to_hub,
    without_machine_paths,
    write_model_card,
)

from conftest import BLOCK_PROJECT_IMPORTS, load_script, write_tiny_vit_checkpoint

# Runs in a fresh interpreter where the project's packages cannot be imported: logits on the saved inputs, then
# the model card's usage example (the house pipeline) with the folder as repo id: it prints the tier, which must be
# the tier of model + processor on the same photos.
LOAD_AS_REMOTE_CODE = (
    BLOCK_PROJECT_IMPORTS
    + r"""
import re, torch
from transformers import AutoImageProcessor, AutoModelForImageClassification
inputs = torch.load(sys.argv[1])
for folder in sys.argv[2:]:
    model = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules."), type(model).__module__
    with torch.no_grad():
        torch.save(model(**inputs).logits, f"{folder}/remote_logits.pt")
    usage = open(f"{folder}/README.md").read().split("```python\n")[1].split("```")[0]
    namespace = {}
    exec(re.sub(r'model="[^"]+"', f'model="{folder}"', usage), namespace)
    processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)
    with torch.no_grad():
        logits = model(**processor(["front.jpg", "kitchen.jpg", "garden.jpg"], max_photos=model.config.max_photos)).logits
    assert namespace["result"]["tier"] == model.config.id2label[int(logits.argmax(-1))], (folder, namespace["result"])
leaked = sorted(name for name in sys.modules if name.split(".")[0] in ("zillow_vit", "dataset_builder"))
assert not leaked, leaked
"""
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny run per model through scripts/train.py: {model: (run_dir, metrics)}."""
    root = tmp_path_factory.mktemp("runs")
    common = ["--preset", "tiny", "--num_synthetic_houses", "40", "--synthetic_image_size", "16", "--max_steps", "2",
              "--per_device_train_batch_size", "16", "--dataset_cache_dir", str(root / "cache"), "--disable_tqdm", "true"]  # fmt: skip
    backbone = ["--pretrained_model_name_or_path", write_tiny_vit_checkpoint(root / "backbone")]
    train = load_script("train")
    return {
        model: (root / model, train.main(["--model", model, "--output_dir", str(root / model), *common, *extra]))
        for model, extra in (("cnn", []), ("vit-scratch", []), ("vit-pretrained", backbone))
    }


@pytest.fixture(scope="module")
def shared_models(runs, tmp_path_factory):
    """Each run prepared for the Hub and saved to its own folder with a model card: {model: (folder, model)}."""
    shared = {}
    for name, (run_dir, metrics) in runs.items():
        model = AutoModelForImageClassification.from_pretrained(run_dir).eval()
        folder = tmp_path_factory.mktemp("hub") / name
        prepare_for_hub(model)
        model.save_pretrained(folder)
        AutoImageProcessor.from_pretrained(run_dir).save_pretrained(folder)
        command = f"python scripts/train.py --model {name} --output_dir {run_dir}"  # an absolute path, for the card
        write_model_card(folder, f"user/zillow-vit-{name}", metrics, BuildReport.load(run_dir), command)
        shared[name] = (folder, model)
    return shared


def test_saved_models_load_as_remote_code_without_the_project(runs, shared_models, tmp_path):
    """Run folders as train.py wrote them, and runs re-saved for the Hub: model and card usage (the pipeline)."""
    inputs = {
        "pixel_values": torch.randn(2, 3, 3, 32, 32),
        "photo_mask": torch.tensor([[True, True, True], [True, True, False]]),
    }
    torch.save(inputs, tmp_path / "inputs.pt")
    for index, photo in enumerate(("front.jpg", "kitchen.jpg", "garden.jpg")):  # the card usage example's photos
        PILImage.new("RGB", (48, 40), (120, 90 + 40 * index, 60)).save(tmp_path / photo)
    folders = {name: [runs[name][0], folder] for name, (folder, _) in shared_models.items()}
    for folder in sum(folders.values(), []):
        auto_map = json.loads((folder / "config.json").read_text())["auto_map"]
        assert set(auto_map) == {"AutoConfig", "AutoModelForImageClassification"}
        assert all((folder / f"{module.split('.')[0]}.py").is_file() for module in auto_map.values())
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    command = [sys.executable, "-c", LOAD_AS_REMOTE_CODE, str(tmp_path / "inputs.pt"), *map(str, sum(folders.values(), []))]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    printed_tiers = result.stdout.split()[-2 * len(shared_models) :]  # one per card usage example run
    assert set(printed_tiers) <= set(TIER_NAMES), result.stdout
    for name, (_, model) in shared_models.items():
        with torch.no_grad():
            expected = model(**inputs).logits
        for folder in folders[name]:
            torch.testing.assert_close(torch.load(folder / "remote_logits.pt"), expected, rtol=0, atol=1e-6)


def test_every_save_of_a_run_carries_the_house_pipeline(runs):
    """train.py's checkpoints and final save: `custom_pipelines` in config.json and the pipeline's code beside it."""
    for run_dir, _ in runs.values():
        for folder in [run_dir, *run_dir.glob("checkpoint-*")]:
            config = json.loads((folder / "config.json").read_text())
            assert config["custom_pipelines"]["house-price-tier"]["impl"] == "pipeline_house.HousePriceTierPipeline"
            assert (folder / "pipeline_house.py").is_file(), folder


def card_metadata(card_path) -> dict:
    return yaml.safe_load(card_path.read_text().split("---")[1])


def test_model_card_names_the_cut_points_metrics_usage_and_limits(runs, shared_models):
    folder, _ = shared_models["cnn"]
    run_dir, metrics = runs["cnn"]
    report = BuildReport.load(run_dir)
    readme = (folder / "README.md").read_text()
    metadata = card_metadata(folder / "README.md")
    assert metadata["library_name"] == "transformers" and metadata["pipeline_tag"] == "image-classification"
    assert metadata["license"] == "apache-2.0" and "inherit" in readme  # code license; weights follow the data
    assert "base_model" not in metadata and "datasets" not in metadata  # synthetic data, no backbone: no Hub link
    assert "image-classification" in metadata["tags"]
    assert tier_ranges(report.cut_points) in readme
    low, high = report.cut_points
    assert dollars(low) in readme and dollars(high) in readme
    test_houses = report.split_sizes["test"]
    assert f"| Metric | Validation | Test ({test_houses} houses) |" in readme
    assert f"| Accuracy | {metrics['eval_accuracy']:.3f} | {metrics['test_accuracy']:.3f} |" in readme
    assert 'pipeline(model="user/zillow-vit-cnn", trust_remote_code=True)' in readme
    assert "python scripts/train.py --model cnn --output_dir cnn\n" in readme  # the run folder by its name only
    for limitation in ("Not for valuation", "belong to their owners", "neighbourhood", "bias"):
        assert limitation.lower() in readme.lower(), limitation
    assert report.source in readme
    assert "the first 6 photos of each house" in (shared_models["vit-scratch"][0] / "README.md").read_text()
    assert "the first photo of each house" in readme


def test_model_cards_hold_no_machine_path(runs, shared_models):
    """The vit-pretrained run's backbone, output folder and checkpoint are absolute paths on this machine."""
    root = str(runs["cnn"][0].parent)
    for folder, _ in shared_models.values():
        assert root not in (folder / "README.md").read_text()
    card = (shared_models["vit-pretrained"][0] / "README.md").read_text()
    assert "fine-tuned from a local checkpoint (`config.backbone`: `backbone`)" in card


def test_model_card_links_a_hub_backbone_and_a_hub_dataset(runs, tmp_path):
    run_dir, metrics = runs["vit-pretrained"]
    config = json.loads((run_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "backbone": "google/vit-base-patch16-224-in21k"}))
    report = BuildReport(
        source="user/houses", split_sizes={"train": 32, "validation": 4, "test": 4}, cut_points=[1e5, 2e5]
    )
    write_model_card(tmp_path, "user/zillow-vit-pretrained", metrics, report)
    metadata = card_metadata(tmp_path / "README.md")
    assert metadata["base_model"] == "google/vit-base-patch16-224-in21k"
    assert metadata["datasets"] == ["user/houses"]
    assert metadata["model-index"][0]["results"][0]["dataset"]["type"] == "user/houses"


def test_machine_paths_become_file_names_and_urls_stay():
    text = (
        "--dataset /home/me/data/houses.json --output_dir=/tmp/run/ (~/listings.json) "
        "https://example.com/a/b.jpg data/houses-* cheap/average 1/2"
    )
    assert without_machine_paths(text) == (
        "--dataset houses.json --output_dir=run (listings.json) https://example.com/a/b.jpg data/houses-* cheap/average 1/2"
    )


@pytest.mark.parametrize(
    "missing", [("auto_map", "custom_pipelines"), ("custom_pipelines",)], ids=["before-hub-code", "before-pipeline"]
)
def test_push_script_gives_an_old_run_folder_its_code_pipeline_and_card(runs, tmp_path, missing):
    run_dir = tmp_path / "run"
    shutil.copytree(runs["cnn"][0], run_dir, ignore=shutil.ignore_patterns("checkpoint-*", "*.py", "README.md"))
    config = json.loads((run_dir / "config.json").read_text())
    for key in missing:  # as saved before train.py called prepare_for_hub, or before the house pipeline
        config.pop(key)
    (run_dir / "config.json").write_text(json.dumps(config))
    load_script("push_to_hub").prepare_run(str(run_dir), "user/zillow-vit-cnn")
    config = json.loads((run_dir / "config.json").read_text())
    assert "auto_map" in config and "house-price-tier" in config["custom_pipelines"]
    assert (run_dir / "modeling_house_cnn.py").is_file() and (run_dir / "pipeline_house.py").is_file()
    assert "user/zillow-vit-cnn" in (run_dir / "README.md").read_text()


def test_push_script_writes_the_card_again_for_its_repo_keeping_the_training_command(runs, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(runs["cnn"][0], run_dir, ignore=shutil.ignore_patterns("checkpoint-*"))
    trained_card = (run_dir / "README.md").read_text()
    assert 'pipeline(model="cnn"' in trained_card  # train.py names a run without --hub_model_id by its model
    load_script("push_to_hub").prepare_run(str(run_dir), "you/zillow-vit-cnn")
    card = (run_dir / "README.md").read_text()
    assert "# you/zillow-vit-cnn" in card and 'pipeline(model="you/zillow-vit-cnn"' in card
    assert 'model="cnn"' not in card and "\n# cnn\n" not in card
    command = re.search(r"```bash\n(python scripts/train.py [^\n]+)\n```", trained_card).group(1)
    assert f"```bash\n{command}\n```" in card


def test_push_script_keeps_the_card_of_a_folder_without_results_and_refuses_one_without_either(runs, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(runs["cnn"][0], run_dir, ignore=shutil.ignore_patterns("checkpoint-*", "all_results.json"))
    (run_dir / "README.md").write_text("# a card written by hand\n")
    push = load_script("push_to_hub")
    push.prepare_run(str(run_dir), "you/zillow-vit-cnn")
    assert (run_dir / "README.md").read_text() == "# a card written by hand\n"
    (run_dir / "README.md").unlink()
    with pytest.raises(DataError, match="no model card, and no all_results.json and build_report.json"):
        push.prepare_run(str(run_dir), "you/zillow-vit-cnn")


def test_card_of_a_frozen_probe_on_part_of_the_splits_says_so(runs, tmp_path):
    backbone = json.loads((runs["vit-pretrained"][0] / "config.json").read_text())["backbone"]
    run_dir = tmp_path / "frozen"
    load_script("train").main([
        "--model", "vit-pretrained", "--pretrained_model_name_or_path", backbone,
        "--preset", "tiny", "--num_synthetic_houses", "40", "--synthetic_image_size", "16", "--max_steps", "2",
        "--freeze_backbone_epochs", "9", "--max_train_samples", "8", "--max_eval_samples", "2",
        "--dataset_cache_dir", str(tmp_path / "cache"), "--output_dir", str(run_dir), "--disable_tqdm", "true",
    ])  # fmt: skip
    card = (run_dir / "README.md").read_text()
    assert "| Metric | Validation | Test (2 houses) |" in card
    assert "Houses used: train 8, validation 2, test 2" in card
    assert "frozen: its weights as published" in card and "fine-tuned" not in card
    assert "was fine-tuned from" in (runs["vit-pretrained"][0] / "README.md").read_text()


def test_push_run_uploads_code_and_card_without_checkpoints_or_machine_paths(
    runs, shared_models, tmp_path, monkeypatch
):
    """Offline: a stand-in `HfApi` records the commit it was asked to make."""
    import zillow_vit.hub

    run_dir = tmp_path / "run"
    shutil.copytree(runs["vit-pretrained"][0], run_dir)
    shutil.copytree(shared_models["vit-pretrained"][0], run_dir, dirs_exist_ok=True)  # the card with the repo id
    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, private, exist_ok):
            calls["create_repo"] = (repo_id, private, exist_ok)
            return SimpleNamespace(repo_id=f"user/{repo_id.split('/')[-1]}")

        def create_commit(self, repo_id, operations, commit_message):
            calls["uploaded"] = (
                repo_id,
                {operation.path_in_repo: operation.path_or_fileobj for operation in operations},
            )
            return SimpleNamespace(commit_url=f"https://hf.co/{repo_id}/commit/1")

    monkeypatch.setattr(zillow_vit.hub, "HfApi", FakeApi)
    url = push_run_to_hub(run_dir, "zillow-vit-pretrained", token="secret")
    assert url == "https://hf.co/user/zillow-vit-pretrained/commit/1"
    assert calls["token"] == "secret" and calls["create_repo"] == ("zillow-vit-pretrained", False, True)
    repo_id, uploaded = calls["uploaded"]
    assert repo_id == "user/zillow-vit-pretrained"
    assert {"config.json", "model.safetensors", "modeling_multi_image_pretrained.py", "pipeline_house.py", "README.md",
            "preprocessor_config.json", "all_results.json", "build_report.json", "trainer_state.json"} <= set(uploaded)  # fmt: skip
    assert not any(name.startswith("checkpoint-") or name == "training_args.bin" for name in uploaded)
    assert not set(uploaded) & {"train_results.json", "eval_results.json", "test_results.json"}
    assert uploaded["model.safetensors"] == str(run_dir / "model.safetensors")  # binary files go up as they are
    root = str(runs["cnn"][0].parent)
    assert root in (run_dir / "config.json").read_text() and root in (run_dir / "trainer_state.json").read_text()
    for name in ("config.json", "trainer_state.json", "README.md"):
        assert root.encode() not in uploaded[name] and str(tmp_path).encode() not in uploaded[name], name
    assert json.loads(uploaded["config.json"])["backbone"] == "backbone"


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    cache = tmp_path_factory.mktemp("houses")
    return build_house_dataset("synthetic", cache_dir=str(cache), num_synthetic_houses=30, synthetic_image_size=16)


def test_export_reads_back_with_the_same_features_rows_and_pixels(houses, tmp_path):
    dataset, report = houses
    export_dataset(dataset, report, tmp_path / "export")
    files = sorted(os.listdir(tmp_path / "export" / "data"))
    assert files == [f"{split}-00000-of-00001.parquet" for split in ("test", "train", "validation")]
    assert BuildReport.load(tmp_path / "export") == report

    loaded = datasets.load_dataset(str(tmp_path / "export"), cache_dir=str(tmp_path / "cache"))
    assert {split: len(rows) for split, rows in loaded.items()} == {split: len(rows) for split, rows in dataset.items()}
    assert loaded["train"].features == dataset["train"].features
    assert loaded["train"].features["label"].names == list(TIER_NAMES)
    for split in dataset:
        for column in ("id", "price", "label"):
            assert loaded[split][column] == dataset[split][column]
    original, exported = dataset["train"][0]["images"], loaded["train"][0]["images"]
    assert len(exported) == len(original)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(original, exported))

    card = yaml.safe_load((tmp_path / "export" / "README.md").read_text().split("---")[1])
    label = next(feature for feature in card["dataset_info"]["features"] if feature["name"] == "label")
    assert list(label["dtype"]["class_label"]["names"].values()) == list(TIER_NAMES)
    assert {"name": "images", "list": "image"} in card["dataset_info"]["features"]
    assert {split["name"]: split["num_examples"] for split in card["dataset_info"]["splits"]} == report.split_sizes
    assert card["configs"] == [
        {"config_name": "default", "data_files": [{"split": split, "path": f"data/{split}-*"} for split in dataset]}
    ]
    assert tier_ranges(report.cut_points) in (tmp_path / "export" / "README.md").read_text()


def test_export_embeds_photos_that_were_stored_as_file_paths(tmp_path):
    """`to_parquet` alone would write only the paths; the export must survive the photo files going away."""
    photo = tmp_path / "photos" / "front.jpg"
    photo.parent.mkdir()
    PILImage.new("RGB", (8, 8), (200, 30, 30)).save(photo)
    features = Features({"id": Value("string"), "label": ClassLabel(names=list(TIER_NAMES)), "images": List(Image())})
    dataset = DatasetDict(
        train=Dataset.from_dict({"id": ["a"], "label": [2], "images": [[str(photo)]]}, features=features)
    )
    expected = np.asarray(PILImage.open(photo))
    export_dataset(
        dataset, BuildReport(source="test", split_sizes={"train": 1}, cut_points=[1e5, 2e5]), tmp_path / "export"
    )
    shutil.rmtree(photo.parent)
    loaded = datasets.load_dataset(str(tmp_path / "export"), cache_dir=str(tmp_path / "cache"))
    assert np.array_equal(np.asarray(loaded["train"][0]["images"][0]), expected)


def test_dataset_cards_declare_license_size_and_photo_terms_without_machine_paths(houses, tmp_path):
    dataset, report = houses
    export_dataset(dataset, report, tmp_path / "synthetic")
    synthetic = card_metadata(tmp_path / "synthetic" / "README.md")
    assert synthetic["license"] == "apache-2.0" and synthetic["size_categories"] == ["n<1K"]
    assert "No real house and no real photo" in (tmp_path / "synthetic" / "README.md").read_text()

    listing = str(tmp_path / "exports" / "listings.json")
    photo = {"id": "7", "photo": str(tmp_path / "exports" / "images" / "7_0.jpg"), "reason": "undecodable image"}
    export_dataset(dataset, dataclasses.replace(report, source=listing, failed_photos=[photo]), tmp_path / "listing")
    card = (tmp_path / "listing" / "README.md").read_text()
    metadata = card_metadata(tmp_path / "listing" / "README.md")
    assert metadata["license"] == "other" and metadata["license_name"] == "listing-photos-owners-terms"
    assert "belong to their owners" in card and "listing export `listings.json`" in card
    shared_report = BuildReport.load(tmp_path / "listing")
    assert shared_report.source == "listings.json" and shared_report.failed_photos[0]["photo"] == "7_0.jpg"
    assert str(tmp_path) not in card and str(tmp_path) not in (tmp_path / "listing" / "build_report.json").read_text()


@pytest.mark.skipif(not os.environ.get("HF_TOKEN"), reason="needs HF_TOKEN and network to upload to the Hub")
def test_push_run_and_dataset_to_the_hub(shared_models, houses):
    from huggingface_hub import HfApi

    api = HfApi()
    name = f"{api.whoami()['name']}/zillow-vit-test-{uuid.uuid4().hex[:8]}"
    try:
        url = push_run_to_hub(shared_models["cnn"][0], name, private=True)
        assert name in url
        assert {"config.json", "model.safetensors", "modeling_house_cnn.py", "README.md"} <= set(
            api.list_repo_files(name)
        )
        push_dataset_to_hub(*houses, name, private=True)
        files = set(api.list_repo_files(name, repo_type="dataset"))
        assert {"README.md", "build_report.json"} <= files and any(f.startswith("data/train-") for f in files)
    finally:
        api.delete_repo(name, missing_ok=True)
        api.delete_repo(name, repo_type="dataset", missing_ok=True)
