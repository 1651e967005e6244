"""Smoke tests of the benchmark scripts: each `main` runs in-process with the tiniest settings and returns
positive, finite figures under the expected keys (the figures themselves are not judged here); the GPU check's
shell script runs in its CPU smoke mode."""

import math
import os
import subprocess
import sys

from PIL import Image

from conftest import SCRIPTS_DIR, load_script


def assert_positive_figures(row, keys):
    assert keys <= row.keys(), keys - row.keys()
    for key in keys:
        assert math.isfinite(row[key]) and row[key] > 0, (key, row[key])


def test_bench_dataset_build(tmp_path):
    for index in range(2):
        (tmp_path / "images").mkdir(exist_ok=True)
        Image.new("RGB", (96, 64), (40 * index, 90, 160)).save(tmp_path / "images" / f"{index}_frontal.jpg")
    figures = load_script("bench_dataset_build").main(
        [
            "--num_photos",
            "2",
            "--photo_width",
            "320",
            "--photo_height",
            "240",
            "--image_short_side",
            "64",
            "--repeats",
            "1",
            "--network_houses",
            "2",
            "--photos_per_house",
            "2",
            "--download_workers",
            "2",
            "--benchmark_photos_dir",
            str(tmp_path),
        ]  # fmt: skip
    )
    generated, benchmark = figures["decode"]
    for row in (generated, benchmark):
        assert_positive_figures(row, {"count", "full_decode_per_s", "draft_decode_per_s", "speed_up"})
        assert row["size_mismatches"] == 0 and math.isfinite(row["mean_abs_diff"])
    assert generated["stored_size"] == "85x64"  # the first generated photo is not EXIF-rotated
    cold, warm = figures["network"]
    assert (cold["cache"], warm["cache"]) == ("cold", "warm")
    assert_positive_figures(cold, {"wall_s", "download_s", "photos_per_s", "network_share"})
    assert cold["requests"] == cold["downloads"] == 4
    assert warm["requests"] == warm["downloads"] == 0 and warm["wall_s"] > 0


def test_bench_training(tmp_path):
    rows = load_script("bench_training").main(
        [
            "--num_synthetic_houses",
            "15",
            "--synthetic_image_size",
            "32",
            "--batch_size",
            "2",
            "--warmup_steps",
            "1",
            "--measured_steps",
            "1",
            "--repeats",
            "2",
            "--dataset_cache_dir",
            str(tmp_path / "cache"),
        ]  # fmt: skip
    )
    assert [row["model"] for row in rows] == ["cnn", "vit-scratch", "vit-pretrained"]
    for row in rows:
        assert_positive_figures(row, {"parameters_m", "trainer_step_ms", "hand_step_ms"})
        assert row["ci_low_pct"] <= row["overhead_pct"] <= row["ci_high_pct"] and row["pairs"] == 2


def test_bench_input():
    figures = load_script("bench_input").main(
        [
            "--preset",
            "tiny",
            "--random_backbone",
            "micro",
            "--num_houses",
            "4",
            "--photos_per_house",
            "2",
            "--batch_size",
            "2",
            "--workers",
            "0",
            "1",
            "--rounds",
            "1",
            "--loader_batches",
            "1",
            "--warmup_steps",
            "1",
            "--training_steps",
            "1",
        ]  # fmt: skip
    )
    assert [row["model"] for row in figures["stages"]] == ["cnn", "vit-scratch", "vit-pretrained"]
    for row in figures["stages"]:
        assert_positive_figures(row, {"decode_ms", "transform_ms", "collate_ms"})
    assert [(row["model"], row["workers"]) for row in figures["loading"]][:2] == [("cnn", 0), ("cnn", 1)]
    for row in figures["loading"]:
        assert_positive_figures(row, {"photos_per_s"})
    for row in figures["training"]:
        assert 0 <= row["waiting_pct"] <= 100 and row["step_s"] > 0


def test_bench_gpu_smoke_on_cpu():
    """The prepared GPU check runs end to end in its CPU smoke mode (bench_gpu.py, then an accelerate launch)."""
    script = os.path.join(SCRIPTS_DIR, "bench_gpu.sh")
    done = subprocess.run(
        ["bash", script, "--smoke"], capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "vit-pretrained" in done.stdout and "test accuracy" in done.stdout


def test_bench_builder_scale(tmp_path):
    figures = load_script("bench_builder_scale").main(
        [
            "--work_dir",
            str(tmp_path),
            "--num_photos",
            "40",
            "--photo_width",
            "96",
            "--photo_height",
            "64",
            "--photos_per_house",
            "2",
            "3",
            "--speed_photos",
            "40",
            "--speed_repeats",
            "1",
            "--rss_counts",
            "40",
        ]  # fmt: skip
    )
    assert [row["cores"] for row in figures["speed"]] == [1, 2]
    for row in [*figures["speed"], *figures["memory"]]:
        assert row["photos"] == 40
        assert_positive_figures(row, {"wall_s", "photos_per_s", "peak_rss_mib"})
    assert 20 <= figures["resume"]["stored_at_kill"] <= 40 and figures["resume"]["resume_s"] > 0


def test_bench_photo_scaling():
    rows = load_script("bench_photo_scaling").main(
        ["--preset", "tiny", "--batch_size", "1", "--photo_counts", "2", "1", "--warmup_steps", "1", "--repeats", "1"]
    )
    assert [row["photos_per_house"] for row in rows] == [1, 2]
    assert rows[0]["step_ratio"] is None and rows[0]["photo_ratio"] is None
    for row in rows:
        assert_positive_figures(row, {"photos_per_step", "step_s", "ms_per_photo"})
        assert math.isfinite(row["peak_memory_growth_mib"])
    assert_positive_figures(rows[1], {"photo_ratio", "step_ratio"})
