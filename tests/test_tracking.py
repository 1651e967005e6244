"""Experiment tracking offline: --report_to tensorboard and --report_to trackio log the run, and the comparison's
learning curves read back from either equal the ones in trainer_state.json."""

import pytest

from zillow_vit import reporting

from conftest import load_script


def curves(entries):
    """(epoch, loss) and (epoch, validation accuracy) points of log_history-like entries."""
    losses = [(round(e["epoch"], 4), round(e["loss"], 5)) for e in entries if "loss" in e]
    accuracies = [(round(e["epoch"], 4), e["eval_accuracy"]) for e in entries if "eval_accuracy" in e]
    return losses, accuracies


@pytest.mark.parametrize("tracker", ["tensorboard", "trackio"])
def test_curves_read_back_from_the_tracker_equal_trainer_state(tracker, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run_dir = str(tmp_path / "run")
    load_script("train").main(
        [
            "--model",
            "cnn",
            "--preset",
            "tiny",
            "--num_synthetic_houses",
            "45",
            "--synthetic_image_size",
            "32",
            "--num_train_epochs",
            "2",
            "--logging_steps",
            "1",
            "--dataset_cache_dir",
            str(tmp_path / "cache"),
            "--output_dir",
            run_dir,
            "--report_to",
            tracker,
            "--project",
            "zillow-vit-test",
            "--run_name",
            run_dir,
            "--disable_tqdm",
            "true",
        ]  # fmt: skip
    )
    expected = curves(reporting.read_log_history(run_dir))
    assert len(expected[0]) == 6 and len(expected[1]) == 2
    assert curves(reporting.read_log_history(run_dir, tracker, "zillow-vit-test")) == expected
