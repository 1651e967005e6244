"""Two real processes on the CPU (gloo over loopback) through `accelerate launch`.

`accelerate launch --cpu --num_processes 2` quietly starts one process on a machine without MPI; the
`--multi_gpu` form below starts two gloo processes on a CPU-only machine (train.py defaults to `--use_cpu`
there; without it each process would train alone), and the test asserts it did.
"""

import json
import math
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file

from conftest import write_tiny_vit_checkpoint

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "train.py")
ACCELERATE = os.path.join(os.path.dirname(sys.executable), "accelerate")
BATCH_SIZE = 8


def test_two_processes_train_once_and_count_every_test_house_once(tmp_path):
    output_dir = tmp_path / "run"
    command = [
        ACCELERATE, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29533", SCRIPT,
        "--model", "cnn", "--preset", "tiny", "--num_synthetic_houses", "105", "--synthetic_image_size", "32",
        "--test_fraction", "0.2", "--num_train_epochs", "1", "--per_device_train_batch_size", str(BATCH_SIZE),
        "--per_device_eval_batch_size", "4", "--dataset_cache_dir", str(tmp_path / "cache"),
        "--output_dir", str(output_dir), "--disable_tqdm", "true",
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("test accuracy") == 1 and "with 2 process(es)" in result.stdout
    assert (
        result.stderr.count("Generating train split: 0 examples") == 1
    )  # built by the main process, reused by the other

    report = json.loads((output_dir / "build_report.json").read_text())
    state = json.loads((output_dir / "trainer_state.json").read_text())
    assert state["global_step"] == math.ceil(report["split_sizes"]["train"] / (BATCH_SIZE * 2))  # world size 2
    results = json.loads((output_dir / "all_results.json").read_text())
    test_houses = report["split_sizes"]["test"]
    assert test_houses % 8 != 0  # so padding the last batch across 2 processes would show
    assert sum(map(sum, json.loads(results["test_confusion_matrix"]))) == test_houses
    assert sum(map(sum, json.loads(results["eval_confusion_matrix"]))) == report["split_sizes"]["validation"]
    assert json.loads((output_dir / "run_arguments.json").read_text())["processes"] == 2  # it multiplies the batch
    assert "accelerate launch --num_processes 2 scripts/train.py --model cnn" in (output_dir / "README.md").read_text()


def test_two_processes_fine_tune_a_backbone_frozen_first(tmp_path):
    """Linear probing then fine-tuning under DDP: the backbone has no gradients in the frozen epoch (DDP must not
    wait for them) and gets them after; both epochs train and the backbone ends changed."""
    backbone = write_tiny_vit_checkpoint(tmp_path / "backbone")
    output_dir = tmp_path / "run"
    command = [
        ACCELERATE, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29534", SCRIPT,
        "--model", "vit-pretrained", "--preset", "tiny", "--pretrained_model_name_or_path", backbone,
        "--freeze_backbone_epochs", "1", "--num_train_epochs", "2", "--num_synthetic_houses", "45",
        "--synthetic_image_size", "32", "--per_device_train_batch_size", str(BATCH_SIZE),
        "--dataset_cache_dir", str(tmp_path / "cache"), "--output_dir", str(output_dir), "--disable_tqdm", "true",
        "--save_strategy", "no", "--load_best_model_at_end", "false", "--backbone_learning_rate_scale", "1.0",
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "with 2 process(es)" in result.stdout and "Backbone unfrozen after epoch 1" in result.stderr
    trained = load_file(output_dir / "model.safetensors")
    pretrained = load_file(os.path.join(backbone, "model.safetensors"))
    prefix = "photo_encoder.backbone."
    assert not torch.equal(trained[prefix + "embeddings.patch_embeddings.projection.weight"],
                           pretrained["embeddings.patch_embeddings.projection.weight"])  # fmt: skip
