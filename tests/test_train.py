"""End-to-end training runs on the synthetic houses, through `scripts/train.py`'s `main`.

Bars: the test split has 120 houses (600 houses, test fraction 0.2, tiers balanced). Under chance
(p = 1/3) the number right is Binomial(120, 1/3): mean 40, sd 5.2. A bar of 0.5 (60 right) is 3.9 sd
above, P < 1e-4, so it cannot pass by luck. Two models judged on the same 120 houses differ with an sd of
at most sqrt(2 * 0.25 / 120) = 0.065 when equally good, so a gap of 0.2 is over 3 sd (P < 1e-3).
"""

import json

import psutil
import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForImageClassification

import zillow_vit  # noqa: F401  (registers the Auto classes)

from conftest import load_script

CHANCE_BAR = 0.5


@pytest.fixture(scope="module")
def synthetic_args(tmp_path_factory):
    cache = tmp_path_factory.mktemp("dataset_cache")
    return ["--num_synthetic_houses", "600", "--synthetic_image_size", "32", "--test_fraction", "0.2",
            "--dataset_cache_dir", str(cache), "--disable_tqdm", "true", "--seed", "0"]  # fmt: skip


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory, synthetic_args):
    output_dir = tmp_path_factory.mktemp("runs") / "cnn"
    metrics = load_script("train").main(
        [
            "--model",
            "cnn",
            "--preset",
            "tiny",
            "--learning_rate",
            "1e-3",
            "--num_train_epochs",
            "8",
            "--output_dir",
            str(output_dir),
            *synthetic_args,
        ]  # fmt: skip
    )
    return output_dir, metrics


def test_cnn_trains_above_chance_and_writes_the_run_directory(cnn_run):
    output_dir, metrics = cnn_run
    assert metrics["test_accuracy"] > CHANCE_BAR
    results = json.loads((output_dir / "all_results.json").read_text())
    for key in ("eval_accuracy", "test_accuracy", "test_f1_macro", "test_recall_cheap", "test_tier_mae", "train_loss"):
        assert key in results
    assert sum(map(sum, json.loads(results["test_confusion_matrix"]))) == 120
    assert 100 < results["peak_rss_mib"] < psutil.virtual_memory().total / 2**20  # this process: torch alone is more
    report = json.loads((output_dir / "build_report.json").read_text())
    model = AutoModelForImageClassification.from_pretrained(output_dir)
    assert model.config.tier_cut_points == report["cut_points"]
    assert model.config.id2label == {0: "cheap", 1: "average", 2: "expensive"}
    assert (output_dir / "preprocessor_config.json").exists()


def test_multi_photo_vit_beats_the_single_photo_cnn(tmp_path, cnn_run, synthetic_args):
    """The synthetic tier marker is in only some photos of a house: reading all of them must pay off."""
    metrics = load_script("train").main(
        [
            "--model",
            "vit-scratch",
            "--preset",
            "tiny",
            "--learning_rate",
            "1e-3",
            "--num_train_epochs",
            "20",
            "--output_dir",
            str(tmp_path / "vit"),
            *synthetic_args,
        ]  # fmt: skip
    )
    cnn_accuracy = cnn_run[1]["test_accuracy"]
    assert metrics["test_accuracy"] >= 0.85
    assert metrics["test_accuracy"] >= cnn_accuracy + 0.2, (metrics["test_accuracy"], cnn_accuracy)


def test_score_head_trains_above_chance_and_is_the_head_saved(tmp_path, synthetic_args):
    """One value in [0, 1] per house, read off by thresholds, still tells the tiers apart; the run is a score model:
    its config, its one-output head, its score output and its soft-target loss."""
    output_dir = tmp_path / "cnn-score"
    arguments = ["--model", "cnn", "--preset", "tiny", "--head_type", "score", "--learning_rate", "1e-3",
                 "--num_train_epochs", "8", "--output_dir", str(output_dir), *synthetic_args]  # fmt: skip
    metrics = load_script("train").main(arguments)
    assert metrics["test_accuracy"] > CHANCE_BAR
    model = AutoModelForImageClassification.from_pretrained(output_dir).eval()
    assert model.config.head_type == "score" and model.classifier.dense.out_features == 1
    with torch.no_grad():
        output = model(torch.randn(4, 1, 3, 32, 32), labels=torch.tensor([0, 1, 2, 1]))
    torch.testing.assert_close(output.logits, -((output.score[:, None] - torch.tensor([0.0, 0.5, 1.0])) ** 2))
    torch.testing.assert_close(output.loss, F.binary_cross_entropy(output.score, torch.tensor([0.0, 0.5, 1.0, 0.5])))
