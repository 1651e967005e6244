"""The newest checkpoint a run can resume from: a training killed while writing `checkpoint-N/` leaves it
empty or half written, and resuming from it would fail; older complete ones are still good."""

from __future__ import annotations

import json
import os
import re

from safetensors import safe_open

CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
OPTIONAL_STATES = ("optimizer.pt", "scheduler.pt")


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
