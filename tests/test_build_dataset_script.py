"""`scripts/build_dataset.py` writes a dataset folder (with its report, listing facts and an export) that
`scripts/train.py --dataset FOLDER` trains on, with the data and model options of the command line."""

import contextlib
import io
import json
import math
import re

import pytest
import torch
import torch.nn.functional as F
from datasets import ClassLabel, List, Value, load_from_disk
from transformers import AutoModelForImageClassification

import zillow_vit  # noqa: F401  (registers the Auto classes)
from dataset_builder import BuildReport, DataError, price_tier
from zillow_vit.hub import export_dataset

from conftest import load_script, simple_houses, write_listing

NUM_HOUSES = 30
BEDROOMS = {"3": "many", "4": None, "5": "1e400"}  # unparseable, missing, infinite; others have `int(id) % 5 + 1`


def bedrooms(house_id: str):
    return BEDROOMS.get(house_id, int(house_id) % 5 + 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 30-house listing (2 photos each, a `bedrooms` field) built, saved and exported by the script."""
    folder = tmp_path_factory.mktemp("listing")
    houses = simple_houses(folder, count=NUM_HOUSES)
    for house in houses:
        if bedrooms(house["id"]) is not None:
            house["bedrooms"] = bedrooms(house["id"])
    output_dir, export_dir = folder / "saved", folder / "export"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        dataset, report = load_script("build_dataset").main(
            [
                "--source",
                str(write_listing(folder, houses)),
                "--output_dir",
                str(output_dir),
                "--listing_fields",
                "bedrooms:number",
                "--dataset_cache_dir",
                str(folder / "cache"),
                "--export",
                str(export_dir),
            ]  # fmt: skip
        )
    return output_dir, export_dir, report, printed.getvalue()


def test_saved_folder_holds_every_house_with_its_features_and_report(built):
    output_dir, _, report, printed = built
    dataset = load_from_disk(str(output_dir))
    assert {name: len(split) for name, split in dataset.items()} == report.split_sizes
    assert sum(report.split_sizes.values()) == NUM_HOUSES and report.houses_kept == NUM_HOUSES
    features = dataset["train"].features
    assert features["id"] == Value("string") and features["price"] == Value("float64")
    assert features["label"] == ClassLabel(names=["cheap", "average", "expensive"])
    assert features["images"] == List(feature=features["images"].feature) and features["bedrooms"] == Value("float32")
    assert BuildReport.load(output_dir) == report
    assert f"Saved {NUM_HOUSES} houses to {output_dir}" in printed and report.summary() in printed


def test_saved_labels_are_the_price_terciles_of_training_prices(built):
    output_dir, _, report, _ = built
    dataset = load_from_disk(str(output_dir))
    train_prices = sorted(dataset["train"]["price"])
    low, high = report.cut_points
    assert train_prices[0] < low < high < train_prices[-1]
    for split in dataset.values():
        for row in split.select_columns(["price", "label"]):
            assert row["label"] == price_tier(row["price"], report.cut_points)
    assert all(len(photos) == 2 for photos in dataset["test"]["images"])


def test_listing_facts_are_carried_per_house_and_counted(built):
    dataset = load_from_disk(str(built[0]))
    carried = {
        row["id"]: row["bedrooms"] for split in dataset.values() for row in split.select_columns(["id", "bedrooms"])
    }
    expected = {str(i): bedrooms(str(i)) for i in range(NUM_HOUSES)}
    assert {house_id for house_id, value in carried.items() if math.isnan(value)} == set(BEDROOMS)
    assert {k: v for k, v in carried.items() if k not in BEDROOMS} == {
        k: v for k, v in expected.items() if k not in BEDROOMS
    }
    counts = {"path": "bedrooms", "kind": "number", "missing": 1, "unparseable": 2}
    assert built[2].listing_fields == {"bedrooms": counts} == BuildReport.load(built[0]).listing_fields


def test_export_is_written_for_the_hub(built):
    export_dir = built[1]
    assert sorted(path.name for path in (export_dir / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]
    assert (export_dir / "README.md").exists() and BuildReport.load(export_dir).cut_points == built[2].cut_points


TRAIN_OPTIONS = ["--model", "vit-scratch", "--preset", "tiny", "--head_type", "score", "--max_photos", "1",
                 "--config_overrides", '{"hidden_size": 32, "house_num_heads": 2, "photo_num_layers": 1}',
                 "--max_train_samples", "5", "--per_device_train_batch_size", "2", "--num_train_epochs", "1",
                 "--disable_tqdm", "true", "--save_strategy", "no", "--load_best_model_at_end", "false"]  # fmt: skip


@pytest.fixture(scope="module")
def trained_on_saved_folder(built, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "run"
    metrics = load_script("train").main(["--dataset", str(built[0]), "--output_dir", str(run), *TRAIN_OPTIONS])
    return run, metrics


def test_train_reads_the_saved_folder_and_its_cut_points(built, trained_on_saved_folder):
    run, metrics = trained_on_saved_folder
    report = built[2]
    model = AutoModelForImageClassification.from_pretrained(run)
    assert model.config.tier_cut_points == report.cut_points
    assert BuildReport.load(run).split_sizes == report.split_sizes
    assert sum(map(sum, json.loads(metrics["test_confusion_matrix"]))) == report.split_sizes["test"]


def test_max_train_samples_limits_the_training_houses(trained_on_saved_folder):
    state = json.loads((trained_on_saved_folder[0] / "trainer_state.json").read_text())
    assert state["global_step"] == 3  # 5 houses in batches of 2, one epoch


def test_config_overrides_and_the_run_options_reach_the_model(trained_on_saved_folder):
    model = AutoModelForImageClassification.from_pretrained(trained_on_saved_folder[0]).eval()
    config = model.config
    assert (config.hidden_size, config.house_num_heads, config.photo_num_layers) == (32, 2, 1)
    assert len(model.photo_encoder.layers) == 1 and model.photo_encoder.norm.normalized_shape == (32,)
    assert config.image_size == 32 and config.max_photos == 1  # the preset's, and --max_photos


def test_head_type_reaches_the_model_output_and_loss(trained_on_saved_folder):
    model = AutoModelForImageClassification.from_pretrained(trained_on_saved_folder[0]).eval()
    assert model.config.head_type == "score" and model.classifier.dense.out_features == 1
    with torch.no_grad():
        output = model(torch.randn(3, 2, 3, 32, 32), labels=torch.tensor([0, 1, 2]))
    assert output.score.shape == (3,)
    torch.testing.assert_close(output.loss, F.binary_cross_entropy(output.score, torch.tensor([0.0, 0.5, 1.0])))


def test_a_saved_build_exported_again_in_place_keeps_its_houses_and_drops_an_earlier_exports_splits(built, tmp_path):
    output_dir, export_dir, report, _ = built
    saved = tmp_path / "saved"
    load_from_disk(str(output_dir)).save_to_disk(str(saved))
    report.save(saved)
    (export_dir.parent / "stale").mkdir(exist_ok=True)
    export = tmp_path / "export"
    (export / "data").mkdir(parents=True)
    (export / "data" / "holdout-00000-of-00001.parquet").write_bytes(b"an earlier export's split")
    load_script("build_dataset").main(["--source", str(saved), "--output_dir", str(saved), "--export", str(export)])
    assert sorted(path.name.split("-")[0] for path in (export / "data").iterdir()) == ["test", "train", "validation"]
    assert len(load_from_disk(str(saved))["train"]) == report.split_sizes["train"]
    card = (export / "README.md").read_text()
    assert "license: other" in card and 'load_dataset("USER/DATASET")  # this dataset' in card


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--test_fraction", "0.5"], "--test_fraction: {export} is a dataset built already; build options shape"),
        (["--listing_fields", "area"], "--listing_fields: {export} is a dataset built already"),
    ],
)
def test_build_options_for_a_built_dataset_are_refused(built, tmp_path, extra, message):
    export_dir = built[1]
    with pytest.raises(DataError, match=re.escape(message.format(export=export_dir))):
        load_script("train").main([*TRAIN_OPTIONS, "--dataset", str(export_dir), "--output_dir", str(tmp_path), *extra])


def test_a_dataset_without_test_houses_is_refused_before_training(built, tmp_path, capsys):
    output_dir = built[0]
    without_test = load_from_disk(str(output_dir))
    del without_test["test"]
    without_test.save_to_disk(str(tmp_path / "no-test"))
    BuildReport.load(output_dir).save(tmp_path / "no-test")
    with pytest.raises(SystemExit) as refused:
        load_script("train").main(
            [*TRAIN_OPTIONS, "--dataset", str(tmp_path / "no-test"), "--output_dir", str(tmp_path / "run")]
        )
    assert (
        refused.value.code == 2
        and "no-test: no test houses (a build with --test_fraction 0?)" in capsys.readouterr().err
    )


def test_a_listing_named_like_the_synthetic_set_keeps_the_license_of_real_photos(built, tmp_path):
    output_dir, _, report, _ = built
    scraped = BuildReport(**{**json.loads(report.to_json()), "source": "synthetic_scrape.json"})
    card = str(export_dataset(load_from_disk(str(output_dir)), scraped, tmp_path / "export"))
    assert "license: other" in card and "No real house" not in card
