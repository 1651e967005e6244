"""The comparison report and prediction on a new listing, on tiny synthetic runs."""

import json

import pytest

from conftest import load_script, simple_houses, write_listing


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("compare")
    argv = ["--output_dir", str(output_dir), "--models", "cnn", "vit-scratch", "--heads", "classification", "score",
            "--seeds", "0", "1", "--folds", "0", "--num_synthetic_houses", "60", "--synthetic_image_size", "32",
            "--dataset_cache_dir", str(output_dir / "cache"),
            "--run_args", "all=--preset tiny --max_steps 3 --disable_tqdm true"]  # fmt: skip
    return output_dir, load_script("compare").main(argv), argv


def test_comparison_writes_every_row_and_plot(comparison):
    output_dir, rows, _ = comparison
    names = ["cnn (classification)", "cnn (score)", "vit-scratch (classification)", "vit-scratch (score)"]
    assert list(rows)[:4] == names
    assert "always majority" in rows and any(name.startswith("colour statistics") for name in rows)
    assert rows["cnn (classification)"]["seeds"] == [0, 1] and len(rows["cnn (score)"]["accuracy"]["values"]) == 2
    saved = json.loads((output_dir / "results.json").read_text())
    assert saved["rows"].keys() == rows.keys() and saved["splits"][0]["split_sizes"]["test"] == 6
    table = (output_dir / "results.md").read_text()
    assert all(f"| {name} |" in table for name in rows)
    for figure in ("learning_curves.png", "confusion_matrices.png", "attention_vit-scratch.png"):
        assert (output_dir / figure).stat().st_size > 10_000
    assert sum(map(sum, rows["vit-scratch (score)"]["test_confusion_matrix"])) == 2 * 6  # two seeds


def test_comparison_keeps_finished_runs(comparison, capsys):
    output_dir, rows, argv = comparison
    before = (output_dir / "runs" / "cnn-classification-seed0" / "all_results.json").stat().st_mtime
    again = load_script("compare").main(argv)
    assert "done before, kept" in capsys.readouterr().out
    assert (output_dir / "runs" / "cnn-classification-seed0" / "all_results.json").stat().st_mtime == before
    assert again["cnn (classification)"]["accuracy"] == rows["cnn (classification)"]["accuracy"]


def test_predict_gives_tier_probabilities_and_attention(comparison, tmp_path):
    output_dir = comparison[0]
    houses = simple_houses(tmp_path, count=2, photos_per_house=3)
    listing = write_listing(tmp_path, houses)
    predict = load_script("predict")
    result = predict.main(
        [
            "--model",
            str(output_dir / "runs" / "vit-scratch-classification-seed0"),
            "--listing",
            str(listing),
            "--house_id",
            "1",
        ]
    )
    assert result["tier"] in ("cheap", "average", "expensive") and result["photos_read"] == 3
    assert sum(result["probabilities"].values()) == pytest.approx(1.0)
    assert sum(result["photo_attention"]) == pytest.approx(1.0, abs=1e-3)
    photos = [str(tmp_path / photo) for photo in houses[0]["images"]]
    scored = predict.main(["--model", str(output_dir / "runs" / "cnn-score-seed0"), "--photos", *photos])
    assert 0.0 <= scored["score"] <= 1.0 and scored["photos_read"] == 1 and "photo_attention" not in scored


def test_predict_names_what_is_wrong(comparison, tmp_path):
    model = str(comparison[0] / "runs" / "cnn-classification-seed0")
    (tmp_path / "notes.jpg").write_text("not a photo")
    predict = load_script("predict")
    with pytest.raises(
        ValueError, match=r"House photos: no usable photos \(1 failed\); .*notes\.jpg: undecodable image"
    ):
        predict.main(["--model", model, "--photos", str(tmp_path / "notes.jpg")])
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=1))
    with pytest.raises(ValueError, match="House 'nope' of .*: not found"):
        predict.main(["--model", model, "--listing", str(listing), "--house_id", "nope"])
