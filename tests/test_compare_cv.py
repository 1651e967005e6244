"""Cross-validated comparison: folds balanced over price, every house tested once, cut points from each fold's
training prices, intervals over folds and paired differences."""

import json

import numpy as np
import pytest
from datasets import load_from_disk

from dataset_builder import price_tier, tercile_cut_points
from dataset_builder.folds import assign_folds
from zillow_vit import reporting

from conftest import load_script


def test_folds_are_balanced_over_price_and_deterministic():
    prices = np.random.default_rng(0).lognormal(12.5, 0.6, 103)
    folds = assign_folds(prices, 5, seed=3)
    assert np.array_equal(folds, assign_folds(prices, 5, seed=3))
    assert not np.array_equal(folds, assign_folds(prices, 5, seed=4))
    assert sorted(np.bincount(folds, minlength=5)) == [20, 20, 21, 21, 21]
    order = np.argsort(prices)
    for start in range(0, 100, 5):  # every 5 consecutive prices go to 5 different folds
        assert len(set(folds[order[start : start + 5]])) == 5


@pytest.fixture(scope="module")
def cross_validation(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("cv")
    argv = ["--output_dir", str(output_dir), "--models", "cnn", "--heads", "classification", "--seeds", "0",
            "--folds", "3", "--num_synthetic_houses", "60", "--synthetic_image_size", "32",
            "--dataset_cache_dir", str(output_dir / "cache"),
            "--run_args", "all=--preset tiny --max_steps 2 --disable_tqdm true"]  # fmt: skip
    return output_dir, load_script("compare").main(argv), argv


def test_every_house_is_tested_once_with_its_folds_own_cut_points(cross_validation):
    output_dir, _, _ = cross_validation
    tested = []
    for fold in (1, 2, 3):
        dataset = load_from_disk(output_dir / f"fold-{fold}" / "dataset")
        cut_points = tercile_cut_points(dataset["train"]["price"])
        saved = json.loads((output_dir / f"fold-{fold}" / "dataset" / "build_report.json").read_text())
        assert saved["cut_points"] == pytest.approx(list(cut_points))
        for split in dataset.values():
            assert list(split["label"]) == [price_tier(price, cut_points) for price in split["price"]]
        assert not set(dataset["test"]["id"]) & set(list(dataset["train"]["id"]) + list(dataset["validation"]["id"]))
        tested += list(dataset["test"]["id"])
        results = json.loads(
            (output_dir / f"fold-{fold}" / "runs" / "cnn-classification-seed0" / "all_results.json").read_text()
        )
        assert sum(map(sum, json.loads(results["test_confusion_matrix"]))) == len(dataset["test"])
    assert sorted(tested) == sorted(f"synthetic-{index:05d}" for index in range(60))


def test_rows_carry_intervals_over_folds_and_paired_differences(cross_validation):
    output_dir, rows, _ = cross_validation
    row = rows["cnn (classification)"]
    assert len(row["accuracy"]["values"]) == 3
    low, high = row["accuracy"]["ci95"]
    assert low <= row["accuracy"]["mean"] <= high
    assert sum(map(sum, row["test_confusion_matrix"])) == 60
    runs = [output_dir / f"fold-{fold}" / "runs" / "cnn-classification-seed0" for fold in (1, 2, 3)]
    peaks = [json.loads((run / "all_results.json").read_text())["peak_rss_mib"] for run in runs]
    assert row["peak_rss_mib"] == max(peaks)
    saved = json.loads((output_dir / "results.json").read_text())
    pair = next(d for d in saved["paired_differences"] if d["second"] == "always majority")
    per_fold = [a - b for a, b in zip(row["accuracy"]["values"], rows["always majority"]["accuracy"]["values"])]
    assert pair["per_fold"] == pytest.approx(per_fold) and pair["mean"] == pytest.approx(np.mean(per_fold))
    table = (output_dir / "results.md").read_text()
    assert (
        "3-fold cross-validation, 60 test houses per seed" in table
        and "| cnn (classification) | always majority |" in table
        and f"| {max(peaks):.0f} |" in table
    )


def test_an_interrupted_comparison_keeps_its_folds_and_runs(cross_validation, capsys):
    output_dir, rows, argv = cross_validation
    again = load_script("compare").main(argv)
    assert capsys.readouterr().out.count("done before, kept") == 3
    assert again["cnn (classification)"]["accuracy"] == rows["cnn (classification)"]["accuracy"]


def test_earlier_results_on_the_same_folds_join_the_table_and_the_paired_differences(
    cross_validation, tmp_path, capsys
):
    """A comparison made elsewhere on the same folds brings its rows without their runs; one made on other folds is
    refused."""
    output_dir, rows, argv = cross_validation
    elsewhere = ["--output_dir", str(tmp_path / "later"), "--models", "none"] + argv[argv.index("--heads") :]
    elsewhere += ["--earlier_results", str(output_dir / "results.json")]
    later = load_script("compare").main(elsewhere)
    assert later["cnn (classification)"] == json.loads(json.dumps(rows["cnn (classification)"]))
    saved = json.loads((tmp_path / "later" / "results.json").read_text())
    pair = next(d for d in saved["paired_differences"] if d["second"] == "colour statistics + logistic regression")
    earlier = rows["cnn (classification)"]["accuracy"]["values"]
    here = later["colour statistics + logistic regression"]["accuracy"]["values"]
    assert pair["first"] == "cnn (classification)"
    assert pair["per_fold"] == pytest.approx([a - b for a, b in zip(earlier, here)])
    other_folds = [word if word != "3" else "2" for word in elsewhere]
    other_folds[other_folds.index("--output_dir") + 1] = str(tmp_path / "two-folds")
    with pytest.raises(SystemExit) as refused:
        load_script("compare").main(other_folds)
    assert refused.value.code == 2 and "made on other splits (names, cut points or sizes)" in capsys.readouterr().err
    one_split = [word if word != "3" else "0" for word in elsewhere]
    with pytest.raises(SystemExit):
        load_script("compare").main(one_split)
    assert "--earlier_results: pairs rows fold by fold, so it needs --folds 2 or more" in capsys.readouterr().err


def test_a_finished_run_trained_with_other_arguments_is_not_kept_as_if_it_were_this_one(cross_validation, capsys):
    output_dir, _, argv = cross_validation
    changed = argv[:-1] + [argv[-1] + " --learning_rate 3e-4"]
    with pytest.raises(SystemExit) as refused:
        load_script("compare").main(changed)
    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert "cnn-classification-seed0 was trained with other arguments (learning_rate 0.0001 there, 0.0003 now)" in error


def test_a_run_recorded_before_a_flag_existed_is_kept_when_the_flag_is_at_its_default(cross_validation, capsys):
    """A flag added to train.py since a run was recorded ran at its default (the earlier behaviour): not a change."""
    output_dir, _, argv = cross_validation
    record_path = output_dir / "fold-1" / "runs" / "cnn-classification-seed0" / "run_arguments.json"
    record = json.loads(record_path.read_text())
    try:
        record_path.write_text(json.dumps({k: v for k, v in record.items() if k != "whole_photo"}))
        load_script("compare").main(argv)
        assert capsys.readouterr().out.count("done before, kept") == 3
        record_path.write_text(json.dumps({k: v for k, v in record.items() if k != "seed"}))
        with pytest.raises(SystemExit):  # a recorded field's absence still counts: only train.py's own flags default
            load_script("compare").main(argv)
        assert "seed None there, 0 now" in capsys.readouterr().err
    finally:
        record_path.write_text(json.dumps(record))


def test_a_run_killed_before_its_model_card_is_trained_again_not_kept(cross_validation, capsys):
    """train.py writes all_results.json before it evaluates and tests; only the model card, written last, says a run
    finished."""
    output_dir, rows, argv = cross_validation
    run = output_dir / "fold-1" / "runs" / "cnn-classification-seed0"
    (run / "README.md").unlink()
    (run / "trainer_state.json").write_text("")  # killed as it was being written
    again = load_script("compare").main(argv)
    assert capsys.readouterr().out.count("done before, kept") == 2 and (run / "README.md").is_file()
    assert again["cnn (classification)"]["accuracy"] == rows["cnn (classification)"]["accuracy"]


@pytest.mark.parametrize("folds", ["1", "-2"])
def test_a_fold_count_that_cannot_cross_validate_is_refused(folds, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        load_script("compare").main(["--output_dir", str(tmp_path), "--models", "cnn", "--folds", folds])
    assert refused.value.code == 2 and f"--folds {folds}: 0 (one split) or 2 and more" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--seed 7", "--head_type=score", "--output_dir elsewhere", "--dataset other.json"])
def test_run_args_cannot_change_what_compare_sets_for_each_run(flag, tmp_path, capsys):
    argv = ["--output_dir", str(tmp_path), "--models", "cnn", "--run_args", f"all=--preset tiny {flag}"]
    with pytest.raises(SystemExit) as refused:
        load_script("compare").main(argv)
    assert refused.value.code == 2
    assert f"{flag.split()[0]} is set by compare.py for each run" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_variants_train_in_parallel_with_their_own_arguments(tmp_path):
    """A MODEL/VARIANT row is its model with the variant's run_args on top; --parallel_runs logs each run."""
    argv = ["--output_dir", str(tmp_path), "--models", "vit-scratch", "vit-scratch/one-photo", "--heads",
            "classification", "--seeds", "0", "--folds", "2", "--num_synthetic_houses", "30",
            "--synthetic_image_size", "32", "--dataset_cache_dir", str(tmp_path / "cache"), "--parallel_runs", "2",
            "--attention_houses", "0", "--run_args", "all=--preset tiny --max_steps 1 --disable_tqdm true",
            "vit-scratch=--max_photos 3", "vit-scratch/one-photo=--max_photos 1"]  # fmt: skip
    rows = load_script("compare").main(argv)
    assert {"vit-scratch (classification)", "vit-scratch/one-photo (classification)"} <= set(rows)
    for fold in (1, 2):
        runs = tmp_path / f"fold-{fold}" / "runs"
        for run, photos in (("vit-scratch-classification-seed0", 3), ("vit-scratch-one-photo-classification-seed0", 1)):
            assert json.loads((runs / run / "config.json").read_text())["max_photos"] == photos
            assert "test_accuracy" in (runs / run / "train.log").read_text()


def test_saved_folds_of_other_houses_are_refused(cross_validation, capsys):
    output_dir, _, argv = cross_validation
    other = [*argv[: argv.index("--num_synthetic_houses") + 1], "61", *argv[argv.index("--num_synthetic_houses") + 2 :]]
    with pytest.raises(SystemExit) as stopped:
        load_script("compare").main(other)
    assert stopped.value.code == 2 and "was saved with other houses" in capsys.readouterr().err


def test_a_rows_peak_memory_is_the_largest_of_its_runs_and_unknown_when_a_run_did_not_record_it():
    def run(seed: int, **memory) -> reporting.RunResult:
        metrics = {f"test_{metric}": 0.5 for metric in reporting.REPORTED_METRICS}
        metrics |= {"eval_accuracy": 0.5, "train_runtime": 1.0, "train_samples_per_second": 1.0}
        metrics |= {"test_confusion_matrix": "[[1, 0, 0], [0, 1, 0], [0, 0, 1]]", **memory}
        return reporting.RunResult("cnn", seed, metrics, [], 10)

    folds = [
        reporting.summarize([run(0, peak_rss_mib=300.0), run(1, peak_rss_mib=900.0)]),
        reporting.summarize([run(0, peak_rss_mib=700.0, peak_gpu_memory_mib=50.0), run(1, peak_rss_mib=100.0)]),
    ]
    assert folds[0]["peak_rss_mib"] == 900.0 and "peak_gpu_memory_mib" not in folds[1]
    row = reporting.across_splits(folds)
    assert row["peak_rss_mib"] == 900.0 and "peak_gpu_memory_mib" not in row
    assert reporting.results_markdown({"cnn": row}, "t").splitlines()[-1].endswith("| 900 |")
    older = reporting.across_splits([folds[0], reporting.summarize([run(0), run(1)])])
    assert "peak_rss_mib" not in older
    assert reporting.results_markdown({"cnn": older}, "t").splitlines()[-1].endswith("| – |")


@pytest.mark.parametrize(
    ("run_args", "refusal"),
    [
        ("cnn=--bogus 3", "--run_args of cnn: unrecognized arguments: --bogus 3"),
        (
            "cnn=--max_photos 2",
            "--run_args of cnn: --config_overrides / --max_photos: The CNN reads one photo per house",
        ),
        (
            "cnn=--learning_rate fast",
            "--run_args of cnn: argument --learning_rate/--learning-rate: invalid float value: 'fast'",
        ),
        ("cnn:--preset default", "--run_args cnn:--preset default: not ROW=ARGS for ROW all, a --models row"),
        ("vit-pretrained=--preset default", "--run_args vit-pretrained=--preset default: not ROW=ARGS"),
        ("cnn/deep=--preset default", "(all, cnn, vit-scratch)"),
    ],
)
def test_a_bad_run_argument_is_refused_before_any_run_starts(run_args, refusal, tmp_path, capsys):
    """Every pending run's arguments pass train.py's checks first: with a bad one, no run trains, not even those of
    the rows before it."""
    argv = ["--output_dir", str(tmp_path), "--models", "vit-scratch", "cnn", "--folds", "0",
            "--num_synthetic_houses", "30", "--synthetic_image_size", "32", "--dataset_cache_dir", str(tmp_path / "c"),
            "--run_args", "all=--preset tiny --max_steps 1 --disable_tqdm true", run_args]  # fmt: skip
    with pytest.raises(SystemExit) as refused:
        load_script("compare").main(argv)
    assert refused.value.code == 2
    assert refusal in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_intervals_over_few_folds_stay_within_what_a_metric_can_be():
    def fold(accuracy: float, mae: float) -> dict:
        return {"accuracy": {"mean": accuracy}, "tier_mae": {"mean": mae}, "test_confusion_matrix": [[1]]}

    row = reporting.across_splits([fold(0.2, 0.1), fold(0.9, 1.9)])  # 2 folds: t = 12.7
    assert row["accuracy"]["ci95"] == (0.0, 1.0) and row["tier_mae"]["ci95"] == (0.0, 2.0)
    (difference,) = reporting.paired_differences({"a": [fold(0.9, 0), fold(0.1, 0)], "b": [fold(0.1, 0), fold(0.9, 0)]})
    assert difference["ci95"] == (-1.0, 1.0)
    same = reporting.paired_differences({"a": [fold(0.9, 0), fold(0.8, 0)], "b": [fold(0.5, 0), fold(0.4, 0)]})
    assert same[0]["ci95"] == (0.4, 0.4) and "| – (2 folds) |" in reporting.differences_markdown(same)
    five = reporting.across_splits([fold(value, 0.5) for value in (0.5, 0.6, 0.55, 0.65, 0.6)])
    assert 0.5 < five["accuracy"]["ci95"][0] < five["accuracy"]["ci95"][1] < 0.7  # not clipped: t over 4 df
