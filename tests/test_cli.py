"""The scripts' command lines tell the truth: each model's real defaults in --help, wrong input in one line with
exit status 2 before any work."""

import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pytest

from conftest import load_script, simple_houses, write_listing

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

USAGE_ERRORS = {
    "unknown preset": (["--preset", "huge"], "--preset huge: cnn has presets default, tiny"),
    "malformed overrides": (["--config_overrides", "{hidden: 2"], "--config_overrides is not valid JSON"),
    "overrides not an object": (["--config_overrides", "[1, 2]"], "must be a JSON object of config fields"),
    "unknown config field": (["--config_overrides", '{"hiden_size": 2}'], "HouseCNNConfig has no field hiden_size"),
    "crop scale above 1": (["--train_min_crop_scale", "1.5"], "--train_min_crop_scale 1.5: a fraction of the area"),
    "crop scale of 0": (["--train_min_crop_scale", "0"], "--train_min_crop_scale 0.0: a fraction of the area"),
    "negative jitter": (["--train_colour_jitter", "-0.1"], "--train_colour_jitter -0.1: a strength, 0 or more"),
    "missing listing": (["--dataset", "nowhere/houses.json"], "--dataset nowhere/houses.json: no such file"),
    "frozen batch norm without a backbone": (
        ["--model", "vit-scratch", "--freeze_backbone_batch_norm", "true"],
        "--freeze_backbone_*, --backbone_learning_rate_scale, --backbone_layer_decay and --whole_photo: vit-scratch has no",
    ),
    "layer decay without a backbone": (
        ["--backbone_layer_decay", "0.8"],
        "--whole_photo: cnn has no pretrained backbone",
    ),
    "whole photos without a backbone": (
        ["--model", "vit-scratch", "--whole_photo", "true"],
        "--whole_photo: vit-scratch has no pretrained backbone",
    ),
    "layer decay of zero": (
        ["--model", "vit-pretrained", "--backbone_layer_decay", "0"],
        "--backbone_layer_decay 0.0: a factor per block, in (0, 1]",
    ),
    "probe epochs without a backbone": (
        ["--freeze_backbone_epochs", "2"],
        "--whole_photo: cnn has no pretrained backbone",
    ),
    "backbone rate without a backbone": (
        ["--backbone_learning_rate_scale", "0.5"],
        "--backbone_learning_rate_scale, --backbone_layer_decay and --whole_photo: cnn has no pretrained backbone",
    ),
    "negative backbone rate": (
        ["--model", "vit-pretrained", "--backbone_learning_rate_scale", "-5"],
        "--backbone_learning_rate_scale -5.0: a factor, 0 or more",
    ),
    "negative probe epochs": (
        ["--model", "vit-pretrained", "--freeze_backbone_epochs", "-1"],
        "--freeze_backbone_epochs -1: a number of epochs, 0 or more",
    ),
    "photo count the cnn cannot read": (
        ["--max_photos", "3"],
        "--config_overrides / --max_photos: The CNN reads one photo per house; max_photos must be 1, got 3",
    ),
    "no photos": (["--model", "vit-scratch", "--max_photos", "0"], "max_photos must be at least 1, got 0"),
    "override of the wrong type": (
        ["--model", "vit-scratch", "--config_overrides", '{"hidden_size": "big"}'],
        "--config_overrides / --max_photos: Validation error for field 'hidden_size'",
    ),
    "override the model refuses": (
        ["--model", "vit-scratch", "--config_overrides", '{"hidden_size": 65}'],
        "hidden_size (65) must be a multiple of photo_num_heads (8)",
    ),
    "no training houses": (["--max_train_samples", "0"], "--max_train_samples 0: a number of houses, 1 or more"),
    "no evaluation houses": (["--max_eval_samples", "-3"], "--max_eval_samples -3: a number of houses, 1 or more"),
    "unknown flag": (["--bogus", "3"], "unrecognized arguments: --bogus 3"),
    "no evaluation with the best model kept": (["--eval_strategy", "no"], "--load_best_model_at_end requires"),
    "missing backbone folder": (
        ["--model", "vit-pretrained", "--pretrained_model_name_or_path", "./no-backbone"],
        "--pretrained_model_name_or_path ./no-backbone: no such file or folder",
    ),
    "backbone not to be had from the Hub": (
        ["--model", "vit-pretrained", "--pretrained_model_name_or_path", "someone/no-such-backbone"],
        "--pretrained_model_name_or_path someone/no-such-backbone: ",
    ),
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_train_refuses_wrong_input_in_one_line(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # a Hub id fails at once
    argv, message = USAGE_ERRORS[case]
    with pytest.raises(SystemExit) as exit_info:
        load_script("train").main([*argv, "--output_dir", str(tmp_path / "run"), "--dataset_cache_dir", str(tmp_path)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error
    assert list(tmp_path.iterdir()) == []  # nothing built, fetched or written


@pytest.mark.parametrize(
    ("script", "argv", "message"),
    [
        ("compare", ["--models", "cnn", "resnet/deep"], "--models resnet/deep: not a model"),
        ("compare", ["--models", "cnn", "--seeds", "0", "0"], "--seeds: 0 given twice"),
        ("compare", ["--models", "cnn", "--bogus", "1"], "unrecognized arguments: --bogus 1"),
        (
            "predict",
            ["--model", "run", "--photos", "a.jpg", "--max_photos", "3"],
            "unrecognized arguments: --max_photos 3",
        ),
        ("build_dataset", ["--dataset", "synthetic", "--output_dir", "{tmp}/out", "--bogus"], "unrecognized arguments"),
        (
            "predict",
            ["--model", "runs/vit-scratch", "--photos", "a.jpg"],
            "runs/vit-scratch: no such file or folder",
        ),
        ("predict", ["--model", "someone/no-such-run", "--photos", "https://example.com/a.jpg"], "--model: "),
    ],
    ids=[
        "unknown-model",
        "seed-twice",
        "compare-flag",
        "predict-flag",
        "build-flag",
        "missing-run-in-a-folder",
        "run-not-to-be-had",
    ],  # fmt: skip
)
def test_the_scripts_refuse_wrong_arguments_in_one_line(script, argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no runs/ folder here
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # a Hub id fails at once
    with pytest.raises(SystemExit) as exit_info:
        load_script(script).main([argument.format(tmp=tmp_path) for argument in argv])
    error = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(error.splitlines()) == 1 and message in error


@pytest.mark.parametrize(
    ("model", "learning_rate", "epochs"), [("cnn", "0.0001", "5"), ("vit-scratch", "0.0003", "30")]
)
def test_help_shows_the_defaults_the_model_really_uses(model, learning_rate, epochs, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("train").main(["--model", model, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"The initial learning rate for the optimizer. (default: {learning_rate})" in text
    assert f"Total number of training epochs to perform. (default: {epochs})" in text
    assert "Train a price-tier model on house photos" in text  # the script's docstring is its description


def test_data_the_scripts_cannot_use_is_one_line_not_a_traceback(tmp_path):
    """A malformed listing, and a listing with too few usable houses: exit status 2 and one line naming the file."""
    (tmp_path / "malformed.json").write_text('[{"id": 1,')
    few = write_listing(tmp_path, simple_houses(tmp_path, count=2, photos_per_house=1), name="few.json")
    expected = {
        "malformed.json": "malformed.json: malformed JSON at line 1, column 11",
        "few.json": "Only 2 usable houses in ",
    }
    for listing in (tmp_path / "malformed.json", few):
        result = subprocess.run(
            [sys.executable, str(SCRIPTS / "build_dataset.py"), "--dataset", str(listing),
             "--dataset_cache_dir", str(tmp_path / "cache"), "--output_dir", str(tmp_path / "saved")],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("build_dataset.py: error: ") and expected[listing.name] in last
