"""Seed ensembles: runs of one recipe read as one model (mean tier probabilities), in predict.py and compare.py;
members that mean something else by a tier, or read other inputs, are refused by name."""

import json
import re

import numpy as np
import pytest
import torch
from datasets import load_from_disk
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification

import zillow_vit  # noqa: F401  (registers the Auto classes)
from zillow_vit.ensemble import check_members, combined
from zillow_vit.models.tier_heads import tier_targets
from zillow_vit.recipes import MODELS

from conftest import load_script

COLOURS = [(250, 240, 230), (30, 200, 40), (200, 30, 200)]


def save_run(folder, seed, **fields):
    torch.manual_seed(seed)
    model, processor = MODELS["vit-scratch"].build("tiny", initializer_range=0.1, **fields)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def house(tmp_path_factory):
    folder = tmp_path_factory.mktemp("house")
    paths = []
    for index, colour in enumerate(COLOURS):
        photo = np.random.default_rng(index).integers(0, 60, (40, 48, 3), dtype=np.uint8) + np.uint8(colour) // 2

        Image.fromarray(photo).save(folder / f"photo{index}.png")
        paths.append(str(folder / f"photo{index}.png"))
    return paths


def predicted(models, photos, cache):
    argv = ["--model", *models, "--photos", *photos, "--photo_cache_dir", str(cache)]
    return load_script("predict").main(argv)


def test_predict_averages_the_members_probabilities_and_attention(house, tmp_path):
    runs = [save_run(tmp_path / f"seed{seed}", seed) for seed in (0, 1, 2)]
    alone = [predicted([run], house, tmp_path / "cache") for run in runs]
    together = predicted(runs, house, tmp_path / "cache")
    mean = np.mean([list(result["probabilities"].values()) for result in alone], axis=0)
    assert list(together["probabilities"].values()) == pytest.approx(mean, abs=1e-6)
    assert together["photo_attention"] == pytest.approx(
        np.mean([result["photo_attention"] for result in alone], axis=0), abs=2e-4
    )
    for result in alone:  # the members differ, so an ensemble that read one member only would show
        assert list(result["probabilities"].values()) != pytest.approx(mean, abs=1e-3)


@pytest.mark.parametrize(
    "field, value",
    [
        ("tier_cut_points", [1.0, 3.0]),
        ("max_photos", 2),
        ("head_type", "score"),
        ("id2label", {0: "a", 1: "b", 2: "c"}),
    ],
)
def test_members_that_differ_in_meaning_or_inputs_are_refused_by_name(house, tmp_path, field, value, capsys):
    fields = {"tier_cut_points": [1.0, 2.0], "max_photos": 4}
    first = save_run(tmp_path / "first", 0, **fields)
    other = save_run(tmp_path / "other", 1, **{**fields, field: value})
    with pytest.raises(SystemExit) as refused:
        predicted([first, other], house, tmp_path / "cache")
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert refused.value.code == 2 and re.search(
        rf"{tmp_path / 'other'}: {field} is .* where {tmp_path / 'first'} has", error
    )


def test_a_score_head_ensemble_takes_the_mean_score():
    scores = [torch.tensor([0.1, 0.7]), torch.tensor([0.3, 0.9]), torch.tensor([0.5, 0.95])]
    logits, score = combined([-((s[:, None] - tier_targets(3)) ** 2) for s in scores], scores)
    torch.testing.assert_close(score, torch.tensor([0.3, 0.85]))
    assert logits.argmax(-1).tolist() == [1, 2]  # 0.3 is nearest "average", 0.85 nearest "expensive"


def test_check_members_accepts_runs_of_one_recipe(tmp_path):
    configs = {seed: MODELS["cnn"].config_class(tier_cut_points=[1.0, 2.0]) for seed in range(3)}
    check_members(configs)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("ensemble")
    argv = ["--output_dir", str(output_dir), "--models", "vit-scratch", "--heads", "classification", "--seeds", "0",
            "--ensembles", "vit-scratch", "--ensemble_seeds", "0", "1", "--flip_tta", "--folds", "2",
            "--num_synthetic_houses", "30", "--synthetic_image_size", "32", "--attention_houses", "0",
            "--dataset_cache_dir", str(output_dir / "cache"),
            "--run_args", "all=--preset tiny --max_steps 2 --disable_tqdm true"]  # fmt: skip
    return output_dir, load_script("compare").main(argv)


def direct_logits(run_dir, houses, **fields):
    model = AutoModelForImageClassification.from_pretrained(run_dir, **fields).eval()
    processor = AutoImageProcessor.from_pretrained(run_dir)
    with torch.no_grad():
        return model(**processor(list(houses["images"]))).logits


@pytest.mark.parametrize("flip", [False, True])
def test_compare_reports_the_seed_ensemble_of_a_row(compared, flip):
    output_dir, rows = compared
    name = "vit-scratch (classification), ensemble of seeds 0, 1" + (" + flip TTA" if flip else "")
    for fold in (1, 2):
        runs = [output_dir / f"fold-{fold}" / "runs" / f"vit-scratch-classification-seed{seed}" for seed in (0, 1)]
        test = load_from_disk(output_dir / f"fold-{fold}" / "dataset")["test"]
        logits = [direct_logits(run, test, test_time_flip=flip) for run in runs]
        for run, member in zip(runs, logits):  # each member read as the row says: with or without the flip
            assert json.loads((run / "config.json").read_text())["test_time_flip"] is False
            cached = json.loads((run / f"house_outputs{'-flip' if flip else ''}.json").read_text())["test"]
            torch.testing.assert_close(torch.tensor(cached["logits"]), member, rtol=1e-4, atol=1e-5)
            assert not torch.allclose(member, direct_logits(run, test, test_time_flip=not flip), atol=1e-5)
        mean = torch.stack([member.softmax(-1) for member in logits]).mean(0)
        expected = float((mean.argmax(-1).numpy() == np.array(test["label"])).mean())
        assert rows[name]["accuracy"]["values"][fold - 1] == pytest.approx(expected)
    assert len(rows["vit-scratch (classification)"]["accuracy"]["values"]) == 2  # the row itself: seed 0 only


def test_an_ensemble_row_must_be_compared(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_script("compare").main(["--output_dir", str(tmp_path), "--models", "cnn", "--ensembles", "vit-scratch"])
    assert "--ensembles vit-scratch: not one of --models" in capsys.readouterr().err
