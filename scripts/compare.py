#!/usr/bin/env python
"""Train and evaluate every model on the same houses, cross-validated, several seeds; write the report.

    python scripts/compare.py --dataset houses.json --output_dir reports/houses --folds 5 \
        --run_args "vit-pretrained=--pretrained_model_name_or_path checkpoints/efficientnet-lite0"

With `--folds K` (default 5) the houses are dealt into K folds balanced over price; each fold is the test split
once, a price-balanced share of the rest validates, and each fold's tiers come from its own training prices. With
`--folds 0` the dataset's own train/validation/test split is used. Each run is `scripts/train.py` in its own process
(OUTPUT_DIR/fold-K/runs/...; finished runs and fold datasets are kept, so an interrupted comparison picks up where it
stopped; a finished run started with other train.py arguments than its row now gives is refused, naming them).
Then: reference rows on the same folds (always-majority, logistic regression on colour statistics, a linear probe
on the frozen backbone's features when vit-pretrained is compared (`--probe_readings`: its pooled output, and/or
every stage), and with `--listing_fields` the facts alone and fused with each probe), with
`--ensembles` the seed ensemble of a row's runs (and with `--flip_tta` the same with flip test-time augmentation,
and each probe too), every metric as a mean over folds with its 95 % interval, paired differences between rows on
the same folds (which difference is real), `results.json`, `results.md`, learning curves, confusion matrices, and
for the multi-photo models a page of example houses with the attention each photo got.
"""

import contextlib
import functools
import importlib.util
import io
import itertools
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import DatasetDict, load_from_disk
from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification, HfArgumentParser

from dataset_builder import BuildReport
from dataset_builder.folds import fold_dataset, pool_houses
from zillow_vit import baselines, ensemble, reporting
from zillow_vit.checkpoints import RUN_FINISHED_FILE, run_argument_changes, run_arguments
from zillow_vit.cli import check_location, parse_arguments, run_script, usage_error
from zillow_vit.data import DatasetArguments, processor_for_backbone
from zillow_vit.data.loading import is_saved_dataset
from zillow_vit.hub import without_machine_paths
from zillow_vit.metrics import load_tier_metric
from zillow_vit.models import HEAD_TYPES, load_backbone
from zillow_vit.recipes import DEFAULT_BACKBONE, MODELS

FLIP_TTA = " + flip TTA"  # the suffix of a row read with flip test-time augmentation
TRAIN_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py")

FLAGS_OF_COMPARE = ("--model", "--head_type", "--seed", "--dataset", "--source", "--output_dir", "--run_name")


@dataclass
class CompareArguments:
    output_dir: str = field(default="reports/compare", metadata={"help": "Report folder (folds and runs go in it)."})
    models: list[str] = field(
        default_factory=lambda: list(MODELS),
        metadata={
            "help": f"Rows to train: a model ({', '.join(sorted(MODELS))}), or MODEL/VARIANT for the same model with "
            'its own --run_args (e.g. vit-pretrained/probe-first); "none": the reference rows only.'
        },
    )
    heads: list[str] = field(
        default_factory=lambda: ["classification", "score"],
        metadata={"help": "Heads to compare.", "choices": list(HEAD_TYPES)},
    )
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2], metadata={"help": "Training seeds (folds stay fixed)."})
    folds: int = field(
        default=5,
        metadata={"help": "Cross-validation folds (every house tested once per seed); 0: the dataset's split."},
    )
    run_args: list[str] = field(
        default_factory=list,
        metadata={
            "help": 'Extra train.py arguments: "all=ARGS" for every run, "MODEL=ARGS" for a model and its variants, '
            '"MODEL/VARIANT=ARGS" for one variant (given in that order, so the most specific wins).'
        },
    )
    parallel_runs: int = field(
        default=1,
        metadata={
            "help": "Runs trained at once, each in its own process (on a large GPU; each run's output then goes to "
            "its train.log)."
        },
    )
    attention_houses: int = field(default=6, metadata={"help": "Test houses on each attention page (0: no pages)."})
    curves_from: str = field(
        default="trainer_state",
        metadata={
            "help": "Where the learning curves are read: each run's trainer_state.json, its TensorBoard events "
            '("all=--report_to tensorboard" in --run_args) or the local Trackio project ("all=--report_to trackio").',
            "choices": list(reporting.CURVE_SOURCES),
        },
    )
    probe_backbones: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Backbones (Hub ids or folders) whose frozen features get a logistic-regression probe row "
            "(default: the backbone of vit-pretrained, when it is compared)."
        },
    )
    probe_readings: list[str] = field(
        default_factory=lambda: ["pooled"],
        metadata={
            "help": 'What each probe reads of its frozen backbone: "pooled" (its pooled output) and/or "all-stages" '
            "(that and every stage's hidden states averaged over positions); a row per reading.",
            "choices": list(baselines.PROBE_READINGS),
        },
    )
    trackio_project: str = field(
        default="huggingface", metadata={"help": "The Trackio project the runs log to (train.py --project)."}
    )
    ensembles: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Rows of --models also reported as a seed ensemble: on each fold, the mean tier probabilities of "
            "the row's --ensemble_seeds runs (zillow_vit.ensemble; read from their saved weights, cached in each run "
            "folder)."
        },
    )
    ensemble_seeds: list[int] = field(
        default_factory=lambda: [0, 1, 2],
        metadata={"help": "Seeds of each --ensembles row's members (trained like its other runs when missing)."},
    )
    flip_tta: bool = field(
        default=False,
        metadata={"help": "Each --ensembles row also with flip test-time augmentation (config.test_time_flip)."},
    )
    earlier_results: list[str] = field(
        default_factory=list,
        metadata={
            "help": "results.json of earlier comparisons on the same splits (same names, cut points and sizes): their "
            "rows join the table and the paired differences, without their runs (a row computed here wins)."
        },
    )


@dataclass
class Split:
    """One train/validation/test split of the comparison (a fold, or the dataset's own split) and where it lives."""

    name: str
    folder: str  # its runs go in folder/runs
    dataset_dir: str  # the saved dataset every run of this split reads
    dataset: DatasetDict
    report: BuildReport


def extra_args_by_model(run_args: list[str], rows: list[str]) -> dict[str, list[str]]:
    """`--run_args` by row; an entry that is not `all=`, `MODEL=` or `MODEL/VARIANT=` of one of the `rows` (it would
    be silently left out), or a flag compare.py sets itself for each run (what the row, head, seed and folders are;
    the report would name the run by what it was not), is a usage error."""
    targets = {"all", *rows, *map(row_model, rows)}
    extra = {}
    for item in run_args:
        name, equals, arguments = item.partition("=")
        if not equals or name not in targets:
            known = ", ".join(sorted(targets))
            usage_error(f"--run_args {item}: not ROW=ARGS for ROW all, a --models row or its model ({known})")
        words = shlex.split(arguments)
        taken = [word for word in words if word.split("=", 1)[0] in FLAGS_OF_COMPARE]
        if taken:
            usage_error(f"--run_args {item}: {', '.join(taken)} is set by compare.py for each run (use --models, "
                        "--heads, --seeds, --dataset, --output_dir)")  # fmt: skip
        extra.setdefault(name, []).extend(words)
    return extra


def saved_split(name: str, folder: str, dataset: DatasetDict, report: BuildReport) -> Split:
    """The split saved under `folder/dataset` (kept if already there, so every run reads the very same houses; one
    saved from other houses, cut points or listing facts is refused, as its runs would not be comparable)."""
    dataset_dir = os.path.join(folder, "dataset")
    if not is_saved_dataset(dataset_dir):
        dataset.save_to_disk(dataset_dir)
        report.save(dataset_dir)
    saved = BuildReport.load(dataset_dir)
    kept = load_from_disk(dataset_dir)
    differs = [
        what
        for what, now, before in (
            (
                "houses",
                {n: sorted(part["id"]) for n, part in dataset.items()},
                {n: sorted(p["id"]) for n, p in kept.items()},
            ),
            ("cut points", report.cut_points, saved.cut_points),
            ("listing facts", list(report.listing_fields), list(saved.listing_fields)),
        )
        if now != before
    ]
    if differs:
        usage_error(
            f"{dataset_dir} was saved with other {', '.join(differs)} than these options give; remove {folder} "
            "(and its runs) or choose another --output_dir"
        )
    return Split(name, folder, dataset_dir, kept, saved)


def comparison_splits(args: CompareArguments, data_args: DatasetArguments) -> list[Split]:
    dataset, report = data_args.load()
    if args.folds == 0:
        if is_saved_dataset(data_args.dataset):
            return [Split("split", args.output_dir, data_args.dataset, dataset, report)]
        return [saved_split("split", args.output_dir, dataset, report)]
    pool = pool_houses(dataset)
    return [
        saved_split(
            f"fold {fold + 1}",
            os.path.join(args.output_dir, f"fold-{fold + 1}"),
            *fold_dataset(pool, fold, args.folds, data_args.validation_fraction, data_args.split_seed, report),
        )
        for fold in range(args.folds)
    ]


def row_model(row: str) -> str:
    """The train.py model of a row: `vit-pretrained/probe-first` → `vit-pretrained`."""
    return row.split("/", 1)[0]


def row_arguments(row: str, extra: dict[str, list[str]]) -> list[str]:
    """A row's extra train.py arguments: those for all runs, then its model's, then its own (the last flag wins)."""
    model = row_model(row)
    return extra.get("all", []) + extra.get(model, []) + (extra.get(row, []) if row != model else [])


def training_command(row: str, head: str, seed: int, dataset_dir: str, run_dir: str, extra: list[str]) -> list[str]:
    return [sys.executable, TRAIN_SCRIPT, "--model", row_model(row), "--head_type", head, "--seed", str(seed),
            "--dataset", dataset_dir, "--output_dir", run_dir, "--run_name", run_dir, "--save_total_limit", "1",
            *extra]  # fmt: skip


def finished_run_changes(run_dir: str, command: list[str]) -> list[str] | None:
    """How the arguments `run_dir`'s run was started with differ from those `command` (a `training_command`) gives,
    as train.py parses them (None: the run predates their record)."""
    train = train_script()
    return run_argument_changes(
        run_dir, run_arguments(*train.parse_arguments(command[2:])), defaults=train.recorded_defaults()
    )


def check_run_command(row: str, command: list[str]) -> None:
    """train.py's own checks of a run's arguments (unknown flags, values its model refuses), before any run starts:
    a bad flag in `--run_args` is a usage error naming the row, not a failure hours later when its run comes up."""
    refusal = io.StringIO()
    try:
        with contextlib.redirect_stderr(refusal):
            train_script().parse_arguments(command[2:])
    except SystemExit:
        message = refusal.getvalue().strip().rpartition("error: ")[2] or refusal.getvalue().strip()
        usage_error(f"--run_args of {row}: {message}")


@functools.cache
def train_script():
    """scripts/train.py as a module, loaded once, for its argument parser."""
    spec = importlib.util.spec_from_file_location("train", TRAIN_SCRIPT)
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    return train


def run_training(run_dir: str, command: list[str], to_log: bool) -> None:
    """One train.py run in a fresh process (its output into `run_dir/train.log` when `to_log`)."""
    print("$", shlex.join(command), flush=True)
    if not to_log:
        subprocess.run(command, check=True)
        return
    os.makedirs(run_dir, exist_ok=True)
    log_path = os.path.join(run_dir, "train.log")
    with open(log_path, "a") as log:
        if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode:
            raise RuntimeError(f"{run_dir} failed; its output is in {log_path}")
    print(f"{run_dir}: done", flush=True)


def run_all(pending: list[tuple[str, list[str]]], parallel_runs: int) -> None:
    """Every pending (run_dir, command), `parallel_runs` at a time; all are tried before a failure is raised."""
    if parallel_runs <= 1:
        for run_dir, command in pending:
            run_training(run_dir, command, to_log=False)
        return
    with ThreadPoolExecutor(parallel_runs) as pool:
        futures = [pool.submit(run_training, run_dir, command, True) for run_dir, command in pending]
    failures = [str(future.exception()) for future in futures if future.exception() is not None]
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(pending)} runs failed:\n" + "\n".join(failures))


def mean_photos_read(dataset_split, max_photos: int) -> float:
    return float(np.mean([min(len(photos), max_photos) for photos in dataset_split["images"]]))


def test_row(split: Split, metric, predictions) -> dict:
    """The tier metrics of `predictions` on the split's test houses."""
    test = split.dataset["test"]
    return metric.compute(predictions=predictions, references=test["label"], label_names=test.features["label"].names)


def scored_row(split: Split, metric, predictions, validation_predictions, **settings) -> dict:
    """A row of a fitted model: its test metrics, its validation accuracy and the settings chosen for it."""
    validation_labels = np.asarray(split.dataset["validation"]["label"])
    validation_accuracy = float(np.mean(np.asarray(validation_predictions) == validation_labels))
    return {**test_row(split, metric, predictions), reporting.VALIDATION_METRIC: validation_accuracy, **settings}


def reference_rows(split: Split, features: dict[str, dict[str, np.ndarray]], metric) -> dict[str, dict]:
    """Always-majority and a logistic regression (C chosen on validation) on each kind of per-house features; when
    the split's report lists listing facts, a logistic regression and gradient boosting on the facts alone, and the
    facts' and each frozen backbone's regressions fused late (facts only / photos only / both). Each row carries its
    validation accuracy."""
    train, validation, test = (split.dataset[name] for name in ("train", "validation", "test"))

    def fitted(x):
        return baselines.fit_logistic_regression(x[0], train["label"], x[1], validation["label"])

    def scored(predictions, validation_predictions, **settings) -> dict:
        return scored_row(split, metric, predictions, validation_predictions, **settings)

    def logistic_regression_row(classifier, c, x) -> dict:
        return scored(classifier.predict(x[2]), classifier.predict(x[1]), C=c)

    rows = {"always majority": test_row(split, metric, baselines.majority_predictions(train["label"], len(test)))}
    kinds = baselines.fact_kinds(split.report.listing_fields)
    if kinds:
        facts = [baselines.fact_columns(part, kinds) for part in (train, validation, test)]
        linear = baselines.LinearFactEncoder(kinds).fit(facts[0])
        fact_x = [linear.transform(part) for part in facts]
        fact_classifier, fact_c = fitted(fact_x)
        rows["listing facts + logistic regression"] = logistic_regression_row(fact_classifier, fact_c, fact_x)
        trees = baselines.TreeFactEncoder(kinds).fit(facts[0])
        tree_x = [trees.transform(part) for part in facts]
        booster, parameters = baselines.fit_gradient_boosting(
            tree_x[0], train["label"], tree_x[1], validation["label"], trees.categorical
        )
        rows["listing facts + gradient boosting"] = scored(
            booster.predict(tree_x[2]), booster.predict(tree_x[1]), **parameters
        )
    for name, by_house in features.items():
        x = [np.stack([by_house[house] for house in part["id"]]) for part in (train, validation, test)]
        classifier, c = fitted(x)
        rows[f"{name} + logistic regression"] = logistic_regression_row(classifier, c, x)
        if kinds and name.startswith("frozen ") and not name.endswith(FLIP_TTA):
            validation_probabilities, test_probabilities = (
                (fact_classifier.predict_proba(f), classifier.predict_proba(p)) for f, p in zip(fact_x[1:], x[1:])
            )
            weight = baselines.fusion_weight(*validation_probabilities, validation["label"])
            rows[f"listing facts + {name} (late fusion)"] = scored(
                baselines.fused(weight, *test_probabilities),
                baselines.fused(weight, *validation_probabilities),
                facts_weight=weight,
            )
    return rows


def house_features(
    splits: list[Split], backbones: list[str], cache_dir: str, flip_tta: bool = False, readings=("pooled",)
) -> dict[str, dict[str, np.ndarray]]:
    """Per-house features of every house, computed once for all folds (and cached on disk): colour statistics, and
    each frozen backbone's features (each of `readings`, `baselines.photo_features`) averaged over the house's photos
    (with `flip_tta`, also averaged over each photo and its mirror image, the probe's twin of the models' flip
    test-time augmentation)."""
    houses = pool_houses(splits[0].dataset)
    kinds = {"colour statistics": lambda: baselines.colour_features(houses)}
    for backbone, reading, mirrored in itertools.product(backbones, readings, (False, True) if flip_tta else (False,)):
        reading_name = "" if reading == "pooled" else f" {reading}"  # the pooled probe keeps its earlier rows' name
        name = f"frozen {os.path.basename(backbone.rstrip('/'))}{reading_name} features"
        kinds[name + FLIP_TTA * mirrored] = lambda backbone=backbone, mirrored=mirrored, reading=reading: (
            baselines.backbone_features(
                houses,
                load_backbone(backbone),
                processor_for_backbone(backbone).photo_transform(),
                mirrored=mirrored,
                reading=reading,
            )
        )
    features = {}
    for name, compute in kinds.items():
        path = os.path.join(cache_dir, f"features - {name}.npz")
        if not os.path.exists(path):
            np.savez(path, ids=np.array(houses["id"]), values=compute())
        saved = np.load(path)
        features[name] = dict(zip(saved["ids"].tolist(), saved["values"]))
    return features


def last_value(arguments: list[str], flag: str, default: str) -> str:
    """The value of the last `flag` among command-line `arguments` (as argparse reads it), else `default`."""
    positions = [index for index, argument in enumerate(arguments[:-1]) if argument == flag]
    return arguments[positions[-1] + 1] if positions else default


def probed_backbones(args: CompareArguments, extra: dict[str, list[str]]) -> list[str]:
    """The backbones to probe: those asked for, else those the vit-pretrained rows use."""
    if args.probe_backbones:
        return args.probe_backbones
    flag = "--pretrained_model_name_or_path"
    rows = [row for row in args.models if row_model(row) == "vit-pretrained"]
    return list(dict.fromkeys(last_value(row_arguments(row, extra), flag, DEFAULT_BACKBONE) for row in rows))


def run_directory(split: Split, row: str, head: str, seed: int) -> str:
    return os.path.join(split.folder, "runs", f"{row.replace('/', '-')}-{head}-seed{seed}")


def train_models(args: CompareArguments, splits: list[Split], extra) -> tuple[dict, dict, list]:
    """Every row × head × seed on every split: {row: [per-split summary]}, {row: [runs]}, attention pages."""
    plan = {
        (row, head, index): [(seed, run_directory(split, row, head, seed)) for seed in args.seeds]
        for row in args.models
        for head in args.heads
        for index, split in enumerate(splits)
    }
    trained_seeds = {  # a row's seeds, and its ensemble members' when it is one of --ensembles
        row: list(dict.fromkeys(args.seeds + (args.ensemble_seeds if row in args.ensembles else [])))
        for row in args.models
    }
    pending = []
    for row, head, split, seed in (
        (row, head, split, seed)
        for row in args.models
        for head in args.heads
        for split in splits
        for seed in trained_seeds[row]
    ):
        run_dir = run_directory(split, row, head, seed)
        command = training_command(row, head, seed, split.dataset_dir, run_dir, row_arguments(row, extra))
        if not os.path.exists(os.path.join(run_dir, RUN_FINISHED_FILE)):
            check_run_command(row, command)
            pending.append((run_dir, command))
            continue
        changes = finished_run_changes(run_dir, command)
        if changes:
            usage_error(
                f"{run_dir} was trained with other arguments ({'; '.join(changes)}): delete it to train it with "
                "these, or give the row another name"
            )
        print(f"{run_dir}: done before, kept")
    run_all(pending, args.parallel_runs)

    per_split, runs_by_name, attention_pages = {}, {}, []
    for row in args.models:
        for head in args.heads:
            name = f"{row} ({head})"
            for index, split in enumerate(splits):
                results = []
                for seed, run_dir in plan[row, head, index]:
                    max_photos = AutoConfig.from_pretrained(run_dir).max_photos
                    photos = mean_photos_read(split.dataset["train"], max_photos)
                    results.append(
                        reporting.read_run(run_dir, name, seed, photos, args.curves_from, args.trackio_project)
                    )
                per_split.setdefault(name, []).append(reporting.summarize(results))
                runs_by_name.setdefault(name, []).extend(results)
            if max_photos > 1 and head == args.heads[0]:
                attention_pages.append((row.replace("/", "-"), plan[row, head, 0][0][1]))
    return per_split, runs_by_name, attention_pages


def run_outputs(run_dir: str, split: Split, test_time_flip: bool) -> dict:
    """A trained run's outputs on the split's validation and test houses (`ensemble.split_outputs`), from its saved
    weights, with or without flip TTA; cached in the run folder."""
    path = os.path.join(run_dir, f"house_outputs{'-flip' if test_time_flip else ''}.json")
    if os.path.exists(path):
        with open(path) as handle:
            outputs = json.load(handle)
    else:
        ((model, processor),) = ensemble.load_members([run_dir], test_time_flip=test_time_flip)
        outputs = {
            part: ensemble.split_outputs(model, processor, split.dataset[part]) for part in ("validation", "test")
        }
        with open(path, "w") as handle:
            json.dump(outputs, handle)
    for part, houses in outputs.items():
        if houses["ids"] != list(split.dataset[part]["id"]):
            raise ValueError(f"{path} holds other {part} houses than {split.name}; remove it to evaluate again")
    return outputs


def ensemble_rows(args: CompareArguments, split: Split, metric) -> dict[str, dict]:
    """Each --ensembles row × head as the seed ensemble of its runs on this split (and with flip TTA): its test
    metrics and validation accuracy, in the form of a reference row."""
    seeds = ", ".join(map(str, args.ensemble_seeds))
    rows = {}
    for row in args.ensembles:
        for head in args.heads:
            run_dirs = [run_directory(split, row, head, seed) for seed in args.ensemble_seeds]
            ensemble.check_members({run_dir: AutoConfig.from_pretrained(run_dir) for run_dir in run_dirs})
            for flip in (False, True) if args.flip_tta else (False,):
                members = [run_outputs(run_dir, split, flip) for run_dir in run_dirs]
                predicted = {}
                for part in ("validation", "test"):
                    logits, _ = ensemble.combined(
                        [torch.tensor(member[part]["logits"]) for member in members],
                        [None if member[part]["score"] is None else torch.tensor(member[part]["score"])
                         for member in members],
                    )  # fmt: skip
                    predicted[part] = logits.argmax(-1).numpy()
                name = f"{row} ({head}), ensemble of seeds {seeds}{FLIP_TTA * flip}"
                rows[name] = scored_row(split, metric, predicted["test"], predicted["validation"])
    return rows


def split_records(splits: list[Split]) -> list[dict]:
    """What results.json records of each split, as JSON values."""
    records = [{"name": s.name, "cut_points": s.report.cut_points, "split_sizes": s.report.split_sizes} for s in splits]
    return json.loads(json.dumps(records))


def earlier_rows(paths: list[str], splits: list[Split]) -> dict[str, dict]:
    """The rows of earlier cross-validated comparisons' results.json; one made on other folds (names, cut points,
    sizes) than these, or on one split (its values are per seed, not per fold), is a usage error, as its values could
    not be paired with these folds'."""
    if paths and len(splits) < 2:
        usage_error("--earlier_results: pairs rows fold by fold, so it needs --folds 2 or more")
    rows = {}
    for path in paths:
        try:
            with open(path) as handle:
                earlier = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            usage_error(f"--earlier_results {path}: not a readable results.json ({error})")
        if not isinstance(earlier, dict) or earlier.get("splits") != split_records(splits):
            usage_error(f"--earlier_results {path}: made on other splits (names, cut points or sizes) than these")
        for name, row in earlier.get("rows", {}).items():
            if len(row.get("accuracy", {}).get("values", [])) != len(splits):
                usage_error(
                    f"--earlier_results {path}: row {name!r} has no accuracy for each of the {len(splits)} folds"
                )
            rows[name] = row
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = HfArgumentParser((CompareArguments, DatasetArguments), description=__doc__)
    args, data_args = parse_arguments(parser, argv)
    args.models = [model for model in args.models if model != "none"]
    for flag in ("models", "heads", "seeds", "ensembles", "ensemble_seeds", "probe_backbones", "probe_readings"):
        values = getattr(args, flag)
        repeated = sorted({str(value) for value in values if values.count(value) > 1})
        if repeated:
            usage_error(f"--{flag}: {', '.join(repeated)} given twice (a run or row counted twice)")
    for row in args.ensembles:
        if row not in args.models:
            usage_error(f"--ensembles {row}: not one of --models")
    for row in args.models:
        if row_model(row) not in MODELS:
            usage_error(f"--models {row}: not a model ({', '.join(sorted(MODELS))}) or MODEL/VARIANT of one")
    if args.folds == 1 or args.folds < 0:
        usage_error(f"--folds {args.folds}: 0 (one split) or 2 and more")
    check_location("--dataset", data_args.dataset if data_args.dataset != "synthetic" else None)
    extra = extra_args_by_model(args.run_args, args.models)
    os.makedirs(args.output_dir, exist_ok=True)
    splits = comparison_splits(args, data_args)
    earlier = earlier_rows(args.earlier_results, splits)  # checked before any run starts
    label_names = splits[0].dataset["train"].features["label"].names

    per_split, runs_by_name, attention_pages = train_models(args, splits, extra)
    features = house_features(
        splits, probed_backbones(args, extra), args.output_dir, args.flip_tta, args.probe_readings
    )
    metric = load_tier_metric()
    for split in splits:
        for name, row in {**ensemble_rows(args, split, metric), **reference_rows(split, features, metric)}.items():
            per_split.setdefault(name, []).append(reporting.reference_summary(row))
    here = {name: reporting.across_splits(summaries) for name, summaries in per_split.items()}
    earlier = {name: row for name, row in earlier.items() if name not in here}
    rows = earlier | here  # the earlier rows first, as they were made first
    earlier_folds = {
        name: [{"accuracy": {"mean": v}} for v in row["accuracy"]["values"]] for name, row in earlier.items()
    }
    differences = reporting.paired_differences(earlier_folds | per_split)

    source = without_machine_paths(splits[0].report.source.split(", fold ")[0])
    tested = sum(len(split.dataset["test"]) for split in splits)
    scheme = f"{args.folds}-fold cross-validation" if args.folds else "one test split"
    title = f"Price tier from photos: {source}, {scheme}, {tested} test houses per seed, seeds {args.seeds}"
    results = {
        "dataset": source,
        "folds": args.folds,
        "splits": split_records(splits),
        "rows": rows,
        "paired_differences": differences,
    }
    with open(os.path.join(args.output_dir, "results.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    markdown = reporting.results_markdown(rows, title) + reporting.differences_markdown(differences)
    with open(os.path.join(args.output_dir, "results.md"), "w") as handle:
        handle.write(markdown)
    if runs_by_name:
        reporting.plot_learning_curves(runs_by_name, os.path.join(args.output_dir, "learning_curves.png"))
        model_rows = {name: rows[name] for name in runs_by_name}
        path = os.path.join(args.output_dir, "confusion_matrices.png")
        reporting.plot_confusion_matrices(model_rows, label_names, path)

    test_split = splits[0].dataset["test"]
    houses = [test_split[i] for i in range(min(args.attention_houses, len(test_split)))]
    for model_name, run_dir in attention_pages if houses else []:
        model = AutoModelForImageClassification.from_pretrained(run_dir)
        processor = AutoImageProcessor.from_pretrained(run_dir)
        path = os.path.join(args.output_dir, f"attention_{model_name}.png")
        reporting.plot_photo_attention(model, houses, processor, label_names, path)
    print(markdown)
    return rows


if __name__ == "__main__":
    run_script(main)
