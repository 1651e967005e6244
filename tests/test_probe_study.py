"""scripts/probe_study.py: frozen features read other ways, on the folds of a compare.py run."""

import json

import numpy as np

from conftest import load_script, write_tiny_vit_checkpoint


def test_its_mean_tier_probe_is_compare_s_probe_row_fold_by_fold(tmp_path):
    backbone = write_tiny_vit_checkpoint(tmp_path / "tiny-vit")
    folds_dir = tmp_path / "cv"
    load_script("compare").main(
        [
            "--output_dir",
            str(folds_dir),
            "--models",
            "none",
            "--folds",
            "3",
            "--num_synthetic_houses",
            "45",
            "--synthetic_image_size",
            "40",
            "--dataset_cache_dir",
            str(tmp_path / "cache"),
            "--probe_backbones",
            backbone,
        ]  # fmt: skip
    )
    compared = json.loads((folds_dir / "results.json").read_text())["rows"][
        "frozen tiny-vit features + logistic regression"
    ]
    rows = load_script("probe_study").main(["--folds_dir", str(folds_dir), "--backbones", backbone])
    probe = rows["tiny-vit, centre crop, mean of its photos, tier"]
    for metric in ("accuracy", "validation_accuracy"):
        np.testing.assert_allclose(probe[metric]["values"], compared[metric]["values"])
    assert len(rows) == 8  # 2 views × 2 readings × 2 targets
    lines = (folds_dir / "probe_study.md").read_text().splitlines()
    assert sum(line.startswith("| tiny-vit, ") for line in lines) == 8 + 7  # the rows, then each one's difference


def test_a_log_price_regression_is_cut_at_the_fold_s_own_cut_points():
    study = load_script("probe_study")
    rng = np.random.default_rng(0)
    prices = {part: rng.lognormal(13, 0.5, size) for part, size in (("train", 90), ("validation", 30), ("test", 30))}
    cut_points = [float(np.exp(12.9)), float(np.exp(13.1))]
    tiers = {
        part: [int(np.searchsorted(cut_points, p, side="right")) for p in values] for part, values in prices.items()
    }
    fold = study.Fold(*({"price": prices[part], "label": tiers[part]} for part in prices), cut_points=cut_points)
    x = [np.stack([np.log(prices[part]), rng.normal(size=len(prices[part]))], 1) for part in prices]
    validation_tiers, test_tiers = study.tier_predictions(x, fold, "log price")
    assert np.mean(test_tiers == np.array(tiers["test"])) > 0.9
    assert np.mean(validation_tiers == np.array(tiers["validation"])) > 0.9
