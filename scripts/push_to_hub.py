#!/usr/bin/env python
"""Push a run folder of `scripts/train.py` to the Hub as a model that loads without this project.

    python scripts/push_to_hub.py --run_dir runs/cnn --repo_id user/zillow-vit-cnn [--private]

Makes sure the folder carries the model's code and its house pipeline (`auto_map` and `custom_pipelines` in
config.json, the .py files; older runs are re-saved with them) and a model card, then uploads it without checkpoints
and without machine paths; the card names the repo.
Then: `pipeline(model="user/zillow-vit-cnn", trust_remote_code=True)(photos)`.
"""

import json
import os
from dataclasses import dataclass, field

from transformers import AutoImageProcessor, AutoModelForImageClassification, HfArgumentParser

from dataset_builder import BuildReport, DataError
from zillow_vit.cli import parse_arguments, run_script
from zillow_vit.hub import prepare_for_hub, push_run_to_hub, write_model_card


@dataclass
class PushArguments:
    run_dir: str = field(metadata={"help": "Run folder written by scripts/train.py."})
    repo_id: str = field(metadata={"help": "Model repo on the Hub, e.g. user/zillow-vit-cnn."})
    private: bool = field(default=False, metadata={"help": "Create the repo private (no effect if it exists)."})
    token: str | None = field(default=None, metadata={"help": "Hub token (default: HF_TOKEN or the saved login)."})


def prepare_run(run_dir: str, repo_id: str) -> None:
    """Give the run folder the model's custom code and pipeline if it lacks them, and a model card for `repo_id`
    (written again, keeping the training command the folder's card records). A folder without the run's results and
    build report (`all_results.json`, `build_report.json`) keeps the card it has, or is refused without one."""
    if not os.path.isfile(os.path.join(run_dir, "config.json")):
        raise DataError(f"{run_dir}: not a run folder of scripts/train.py (no config.json)")
    results = os.path.join(run_dir, "all_results.json")
    can_write_card = os.path.exists(results) and BuildReport.exists(run_dir)
    if not (can_write_card or os.path.exists(os.path.join(run_dir, "README.md"))):
        raise DataError(f"{run_dir}: no model card, and no all_results.json and build_report.json to write one from")
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    if "auto_map" not in config or "custom_pipelines" not in config:
        model = AutoModelForImageClassification.from_pretrained(run_dir)
        prepare_for_hub(model)
        model.save_pretrained(run_dir)
        AutoImageProcessor.from_pretrained(run_dir).save_pretrained(run_dir)
    if can_write_card:
        with open(results, encoding="utf-8") as handle:
            metrics = json.load(handle)
        write_model_card(run_dir, repo_id, metrics, BuildReport.load(run_dir))


def main(argv: list[str] | None = None) -> str:
    (args,) = parse_arguments(HfArgumentParser(PushArguments, description=__doc__), argv)
    prepare_run(args.run_dir, args.repo_id)
    url = push_run_to_hub(args.run_dir, args.repo_id, token=args.token, private=args.private)
    print(f"Pushed {args.run_dir} to {url}")
    return url


if __name__ == "__main__":
    run_script(main)
