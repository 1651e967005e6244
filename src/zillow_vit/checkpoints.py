"""The newest checkpoint a run can resume from: a training killed while writing `checkpoint-N/` leaves it
empty or half written, and resuming from it would fail; older complete ones are still good. And what a run was
started with (`run_arguments.json`), so that a rerun with other arguments does not resume it as if it were its own."""

from __future__ import annotations

import json
import os
import re
from dataclasses import MISSING, asdict, fields

from safetensors import safe_open
from transformers import TrainingArguments

CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
RUN_FINISHED_FILE = "README.md"  # the model card: the last file train.py writes, after the model, state and metrics
OPTIONAL_STATES = ("optimizer.pt", "scheduler.pt")
RUN_ARGUMENTS_FILE = "run_arguments.json"
# the `TrainingArguments` that change the trained weights; the others log, save, evaluate or place the work
TRAINING_FIELDS = (
    "learning_rate", "weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "optim",
    "optim_args", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "num_train_epochs", "max_steps",
    "per_device_train_batch_size", "gradient_accumulation_steps", "label_smoothing_factor", "seed", "data_seed",
    "bf16", "fp16",
)  # fmt: skip
CACHE_FIELDS = ("dataset_cache_dir", "force_rebuild", "photo_cache_dir")  # where builds and photos are kept
# how photos are fetched (the dataset's own fingerprint holds what was fetched)
FETCH_FIELDS = ("download_workers", "download_timeout", "download_retries", "download_backoff", "photo_deadline")


def checkpoint_problem(folder: str) -> str | None:
    """Why `folder` is not a complete Trainer checkpoint, or None if it is."""
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as handle:
            json.load(handle)
    except (OSError, ValueError):
        return "config.json missing or unreadable"
    try:
        with open(os.path.join(folder, TRAINER_STATE), encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return f"{TRAINER_STATE} missing or unreadable"
    if not isinstance(state, dict) or "global_step" not in state:
        return f"{TRAINER_STATE} has no global_step"
    problem = _weights_problem(os.path.join(folder, "model.safetensors"))
    if problem:
        return problem
    for name in OPTIONAL_STATES:
        path = os.path.join(folder, name)
        if os.path.exists(path) and os.path.getsize(path) == 0:
            return f"{name} is empty"
    return None


def _weights_problem(path: str) -> str | None:
    """Why a safetensors file cannot be read (missing, or its header and size disagree: truncated), or None."""
    if not os.path.isfile(path):
        return "model.safetensors missing"
    try:
        with safe_open(path, framework="pt") as weights:
            for name in weights.keys():
                weights.get_slice(name)
    except Exception:  # safetensors raises its own error types on truncated or malformed files
        return "model.safetensors truncated or malformed"
    return None


def last_complete_checkpoint(output_dir: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The newest complete `checkpoint-N` folder of `output_dir` (None if there is none), and the newer
    incomplete ones skipped on the way, each as (path, reason)."""
    if not os.path.isdir(output_dir):
        return None, []
    steps = sorted(
        (int(match.group(1)), name)
        for name in os.listdir(output_dir)
        if (match := CHECKPOINT_NAME.match(name)) and os.path.isdir(os.path.join(output_dir, name))
    )
    skipped = []
    for _, name in reversed(steps):
        path = os.path.join(output_dir, name)
        problem = checkpoint_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    return None, skipped


def run_arguments(*arguments) -> dict:
    """What shapes a run's weights, as JSON values, from its parsed argument dataclasses: every field of each, except
    a `TrainingArguments`', where only the optimisation settings (`TRAINING_FIELDS`) and the number of processes (it
    multiplies the batch) count, the cache folders and the fetch settings."""
    values = {}
    for group in arguments:
        if isinstance(group, TrainingArguments):
            values.update({name: getattr(group, name) for name in TRAINING_FIELDS if hasattr(group, name)})
            values["processes"] = group.world_size
        else:
            ignored = CACHE_FIELDS + FETCH_FIELDS
            values.update({name: value for name, value in asdict(group).items() if name not in ignored})
    return json.loads(json.dumps(values, default=lambda value: getattr(value, "value", str(value))))


def write_run_arguments(output_dir: str, arguments: dict) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, RUN_ARGUMENTS_FILE), "w") as file:
        json.dump(arguments, file, indent=2, sort_keys=True)


def run_argument_defaults(*classes) -> dict:
    """Every field's default of argument dataclasses, as JSON values: what a run recorded before the field existed ran
    with (a new flag's default keeps the earlier behaviour)."""
    values = {}
    for group in classes:
        for option in fields(group):
            if option.default is not MISSING:
                values[option.name] = option.default
            elif option.default_factory is not MISSING:
                values[option.name] = option.default_factory()
    return json.loads(json.dumps(values, default=lambda value: getattr(value, "value", str(value))))


def run_argument_changes(
    output_dir: str, arguments: dict, allowed: tuple[str, ...] = (), defaults: dict | None = None
) -> list[str] | None:
    """`name X there, Y now` for each argument, but the `allowed` ones, that differs from those `output_dir`'s run was
    started with (an argument its record lacks, added since, was at its `defaults` value); None when it has no record
    (a run of an older version)."""
    path = os.path.join(output_dir, RUN_ARGUMENTS_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as file:
        recorded = json.load(file)

    def then(name: str):
        return recorded[name] if name in recorded else (defaults or {}).get(name)

    ignored = allowed + FETCH_FIELDS  # recorded by earlier versions
    return [
        f"{name} {then(name)!r} there, {arguments.get(name)!r} now"
        for name in sorted(recorded.keys() | arguments.keys())
        if name not in ignored and same_place(then(name)) != same_place(arguments.get(name))
    ]


def same_place(value):
    """A path that exists here as its real absolute path (one folder is written many ways: relative, with a trailing
    slash, through a link); any other value as it is."""
    return os.path.realpath(value) if isinstance(value, str) and os.path.exists(value) else value
