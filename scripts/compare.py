#!/usr/bin/env python
"""Train and evaluate every model on one dataset, identical splits, several seeds; write the report.

    python scripts/compare.py --dataset houses.json --output_dir reports/houses \
        --run_args "vit-pretrained=--pretrained_model_name_or_path checkpoints/efficientnet-lite0"

Each run is `scripts/train.py` in its own process (its folder under OUTPUT_DIR/runs; finished runs are
kept, so an interrupted comparison picks up where it stopped). Then: reference rows on the same splits
(always-majority, logistic regression on colour statistics, and a linear probe on the frozen backbone's
features when vit-pretrained is compared), `results.json`, `results.md`, learning curves, confusion
matrices, and for the multi-photo models a page of example houses with the attention each photo got.
"""

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForImageClassification, HfArgumentParser

from zillow_vit import baselines, reporting
from zillow_vit.data import DatasetArguments, processor_for_backbone
from zillow_vit.data.loading import is_saved_dataset
from zillow_vit.metrics import load_tier_metric
from zillow_vit.recipes import DEFAULT_BACKBONE, MODELS

TRAIN_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py")


@dataclass
class CompareArguments:
    output_dir: str = field(default="reports/compare", metadata={"help": "Report folder (runs go in its runs/)."})
    models: list[str] = field(
        default_factory=lambda: list(MODELS), metadata={"help": "Models to compare.", "choices": sorted(MODELS)}
    )
    heads: list[str] = field(
        default_factory=lambda: ["classification", "score"], metadata={"help": "Heads to compare."}
    )
    seeds: list[int] = field(
        default_factory=lambda: [0, 1, 2], metadata={"help": "Training seeds (splits stay fixed)."}
    )
    run_args: list[str] = field(
        default_factory=list,
        metadata={"help": 'Extra train.py arguments: "all=ARGS" for every run, "MODEL=ARGS" for one model.'},
    )
    attention_houses: int = field(default=6, metadata={"help": "Test houses on each attention page."})


def extra_args_by_model(run_args: list[str]) -> dict[str, list[str]]:
    extra = {}
    for item in run_args:
        name, _, arguments = item.partition("=")
        extra.setdefault(name, []).extend(shlex.split(arguments))
    return extra


def run_training(model: str, head: str, seed: int, dataset_dir: str, run_dir: str, extra: list[str]) -> None:
    """One train.py run in a fresh process, unless its results are already there."""
    if os.path.exists(os.path.join(run_dir, "all_results.json")):
        print(f"{run_dir}: done before, kept")
        return
    command = [sys.executable, TRAIN_SCRIPT, "--model", model, "--head_type", head, "--seed", str(seed),
               "--dataset", dataset_dir, "--output_dir", run_dir, "--save_total_limit", "1", *extra]  # fmt: skip
    print("$", shlex.join(command), flush=True)
    subprocess.run(command, check=True)


def mean_photos_read(dataset_split, max_photos: int) -> float:
    return float(np.mean([min(len(photos), max_photos) for photos in dataset_split["images"]]))


def reference_row(metric, predictions, references, label_names) -> dict:
    result = metric.compute(predictions=predictions, references=references, label_names=label_names)
    row = {m: {"mean": result[m], "std": 0.0, "values": [result[m]]} for m in reporting.REPORTED_METRICS}
    return {**row, "test_confusion_matrix": result["confusion_matrix"]}


def reference_rows(dataset, label_names, backbone: str | None) -> dict[str, dict]:
    """Always-majority, colour statistics + logistic regression, and the frozen-backbone linear probe."""
    metric = load_tier_metric()
    train, validation, test = dataset["train"], dataset["validation"], dataset["test"]
    rows = {
        "always majority": reference_row(
            metric, baselines.majority_predictions(train["label"], len(test)), test["label"], label_names
        )
    }
    features = [baselines.colour_features(split) for split in (train, validation, test)]
    classifier, c = baselines.fit_logistic_regression(features[0], train["label"], features[1], validation["label"])
    rows[f"colour statistics + logistic regression (C={c})"] = reference_row(
        metric, classifier.predict(features[2]), test["label"], label_names
    )
    if backbone:
        transform = processor_for_backbone(backbone).photo_transform()
        encoder = AutoModel.from_pretrained(backbone)
        features = [baselines.backbone_features(split, encoder, transform) for split in (train, validation, test)]
        classifier, c = baselines.fit_logistic_regression(features[0], train["label"], features[1], validation["label"])
        name = f"frozen {os.path.basename(backbone.rstrip('/'))} features + logistic regression (C={c})"
        rows[name] = reference_row(metric, classifier.predict(features[2]), test["label"], label_names)
    return rows


def compared_backbone(models: list[str], extra: dict[str, list[str]]) -> str | None:
    """The backbone vit-pretrained runs use, if it is compared (for the frozen-feature probe)."""
    if "vit-pretrained" not in models:
        return None
    arguments = extra.get("all", []) + extra.get("vit-pretrained", [])
    flag = "--pretrained_model_name_or_path"
    return arguments[arguments.index(flag) + 1] if flag in arguments else DEFAULT_BACKBONE


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((CompareArguments, DatasetArguments), description=__doc__)
    args, data_args = parser.parse_args_into_dataclasses(args=sys.argv[1:] if argv is None else argv)
    os.makedirs(args.output_dir, exist_ok=True)
    dataset, report = data_args.load()
    dataset_dir = data_args.dataset
    if not is_saved_dataset(dataset_dir):  # every run reads the very same splits
        dataset_dir = os.path.join(args.output_dir, "dataset")
        if not is_saved_dataset(dataset_dir):
            dataset.save_to_disk(dataset_dir)
            report.save(dataset_dir)
    label_names = dataset["train"].features["label"].names
    extra = extra_args_by_model(args.run_args)

    runs_by_name, rows, attention_pages = {}, {}, []
    for model in args.models:
        for head in args.heads:
            name = f"{model} ({head})"
            runs = []
            for seed in args.seeds:
                run_dir = os.path.join(args.output_dir, "runs", f"{model}-{head}-seed{seed}")
                run_training(model, head, seed, dataset_dir, run_dir, extra.get("all", []) + extra.get(model, []))
                max_photos = AutoConfig.from_pretrained(run_dir).max_photos
                runs.append(reporting.read_run(run_dir, name, seed, mean_photos_read(dataset["train"], max_photos)))
            runs_by_name[name] = runs
            rows[name] = reporting.summarize(runs)
            if max_photos > 1 and head == args.heads[0]:
                attention_pages.append(
                    (model, os.path.join(args.output_dir, "runs", f"{model}-{head}-seed{args.seeds[0]}"))
                )

    rows.update(reference_rows(dataset, label_names, compared_backbone(args.models, extra)))

    title = f"Price tier from photos: {report.source}, test split of {len(dataset['test'])} houses, seeds {args.seeds}"
    with open(os.path.join(args.output_dir, "results.json"), "w") as handle:
        json.dump(
            {
                "dataset": report.source,
                "cut_points": report.cut_points,
                "split_sizes": report.split_sizes,
                "rows": rows,
            },
            handle,
            indent=2,
        )
    with open(os.path.join(args.output_dir, "results.md"), "w") as handle:
        handle.write(reporting.results_markdown(rows, title))
    reporting.plot_learning_curves(runs_by_name, os.path.join(args.output_dir, "learning_curves.png"))
    model_rows = {name: rows[name] for name in runs_by_name}
    reporting.plot_confusion_matrices(model_rows, label_names, os.path.join(args.output_dir, "confusion_matrices.png"))

    houses = [dataset["test"][i] for i in range(min(args.attention_houses, len(dataset["test"])))]
    for model_name, run_dir in attention_pages:
        model = AutoModelForImageClassification.from_pretrained(run_dir)
        processor = AutoImageProcessor.from_pretrained(run_dir)
        path = os.path.join(args.output_dir, f"attention_{model_name}.png")
        reporting.plot_photo_attention(model, houses, processor, label_names, path)
    print(reporting.results_markdown(rows, title))
    return rows


if __name__ == "__main__":
    main()
