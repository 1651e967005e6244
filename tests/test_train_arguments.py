"""`scripts/train.py`'s command line: each model's own training defaults, and any flag given wins."""

import pytest

from zillow_vit.recipes import MODELS

from conftest import load_script


@pytest.fixture(scope="module")
def parse():
    script = load_script("train")

    def parse(*argv):
        model_args, data_args, training_args = script.parse_arguments(list(argv))
        return {**vars(training_args), **vars(data_args), **vars(model_args)}

    return parse


@pytest.mark.parametrize("model", sorted(MODELS))
def test_each_model_gets_its_own_training_defaults(parse, model):
    parsed = parse("--model", model)
    assert parsed["model"] == model and parsed["output_dir"] == f"runs/{model}"
    for name, value in MODELS[model].training_defaults.items():
        assert parsed[name] == value, name
    assert parsed["eval_strategy"] == "epoch" and parsed["load_best_model_at_end"] is True
    assert parsed["metric_for_best_model"] == "accuracy" and parsed["remove_unused_columns"] is False


def test_the_defaults_are_the_documented_ones(parse):
    cnn, scratch, pretrained = parse("--model", "cnn"), parse("--model", "vit-scratch"), parse("--model=vit-pretrained")
    assert (cnn["learning_rate"], cnn["num_train_epochs"], cnn["train_photo_sampling"]) == (1e-4, 5, "first")
    assert (scratch["learning_rate"], scratch["lr_scheduler_type"], scratch["train_photo_sampling"]) == (
        3e-4, "cosine", "random"
    )  # fmt: skip
    assert (pretrained["backbone_learning_rate_scale"], pretrained["per_device_train_batch_size"]) == (0.1, 8)
    assert parse("--model", "cnn")["backbone_learning_rate_scale"] == 1.0  # not another model's default


@pytest.mark.parametrize("model", sorted(MODELS))
def test_given_flags_win_over_the_model_defaults(parse, model):
    backbone = ["--backbone_learning_rate_scale", "0.5"] if MODELS[model].uses_backbone else []  # else refused
    parsed = parse("--model", model, "--learning_rate", "0.02", "--num_train_epochs", "2", "--weight_decay", "0.3",
                   "--per_device_train_batch_size", "3", "--train_photo_sampling", "first", "--lr_scheduler_type",
                   "linear", *backbone, "--output_dir", "elsewhere",
                   "--eval_strategy", "no", "--load_best_model_at_end", "false")  # fmt: skip
    given = {"learning_rate": 0.02, "num_train_epochs": 2, "weight_decay": 0.3, "per_device_train_batch_size": 3,
             "train_photo_sampling": "first", "output_dir": "elsewhere", "load_best_model_at_end": False,
             **({"backbone_learning_rate_scale": 0.5} if backbone else {})}  # fmt: skip
    assert {name: parsed[name] for name in given} == given
    assert parsed["lr_scheduler_type"] == "linear" and parsed["eval_strategy"] == "no"


def test_model_options_are_parsed(parse):
    parsed = parse("--model", "vit-pretrained", "--head_type", "score", "--preset", "tiny", "--freeze_backbone_epochs",
                   "2", "--max_photos", "3", "--max_train_samples", "7", "--listing_fields", "bedrooms", "area:number")  # fmt: skip
    assert (parsed["head_type"], parsed["preset"], parsed["freeze_backbone_epochs"]) == ("score", "tiny", 2)
    assert (parsed["max_photos"], parsed["max_train_samples"], parsed["listing_fields"]) == (
        3, 7, ["bedrooms", "area:number"]
    )  # fmt: skip


def test_an_unknown_model_is_refused(parse, capsys):
    with pytest.raises(SystemExit):
        parse("--model", "resnet")
    assert "invalid choice: 'resnet'" in capsys.readouterr().err
