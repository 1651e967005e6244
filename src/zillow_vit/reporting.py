"""Read finished runs and turn them into the comparison report: tables, learning curves, confusion matrices
and the per-photo attention of the multi-photo models."""

import glob
import json
import os
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from .data import collate_houses, house_transforms  # noqa: E402

REPORTED_METRICS = ("accuracy", "f1_macro", "tier_mae", "off_by_two_rate")
VALIDATION_METRIC = "validation_accuracy"  # a run's eval_accuracy: what rows are chosen on
METRIC_BOUNDS = {"tier_mae": (0.0, 2.0)} | {
    metric: (0.0, 1.0) for metric in ("accuracy", "f1_macro", "off_by_two_rate", VALIDATION_METRIC)
}


@dataclass
class RunResult:
    """One training run (model, head, seed) as read from its output folder."""

    name: str
    seed: int
    metrics: dict
    log_history: list[dict] = field(default_factory=list)
    parameters: int = 0
    photos_per_house: float = 1.0

    @property
    def test_confusion(self) -> np.ndarray:
        return np.array(json.loads(self.metrics["test_confusion_matrix"]))

    @property
    def images_per_second(self) -> float:
        return self.metrics["train_samples_per_second"] * self.photos_per_house


PEAK_MEMORY_KEYS = ("peak_rss_mib", "peak_gpu_memory_mib")  # train.py's metrics (zillow_vit.training)
CURVE_SOURCES = ("trainer_state", "tensorboard", "trackio")


def read_run(
    run_dir: str, name: str, seed: int, photos_per_house: float, curves_from: str = "trainer_state", project=None
) -> RunResult:
    with open(os.path.join(run_dir, "all_results.json")) as handle:
        metrics = json.load(handle)
    log_history = read_log_history(run_dir, curves_from, project)
    return RunResult(name, seed, metrics, log_history, metrics["model_parameters"], photos_per_house)


def read_log_history(run_dir: str, curves_from: str = "trainer_state", project: str | None = None) -> list[dict]:
    """The run's logged training loss and validation accuracy as Trainer's `log_history` entries (`epoch` with
    `loss` or `eval_accuracy`), read from trainer_state.json, the run's TensorBoard event files (`--report_to
    tensorboard`) or the local Trackio `project` (`--report_to trackio --project P --run_name RUN_DIR`)."""
    if curves_from == "trainer_state":
        with open(os.path.join(run_dir, "trainer_state.json")) as handle:
            return json.load(handle)["log_history"]
    if curves_from == "tensorboard":
        scalars = tensorboard_scalars(run_dir)
    elif curves_from == "trackio":
        scalars = trackio_scalars(project, run_dir)
    else:
        raise ValueError(f"curves_from must be one of {CURVE_SOURCES}, got {curves_from!r}")
    entries = []
    for step in sorted(scalars):
        values = scalars[step]
        for tag, key in (("train/loss", "loss"), ("eval/accuracy", "eval_accuracy")):
            if tag in values and "train/epoch" in values:
                entries.append({"epoch": values["train/epoch"], "step": step, key: values[tag]})
    return entries


def tensorboard_scalars(run_dir: str) -> dict[int, dict[str, float]]:
    """{step: {tag: value}} of every TensorBoard event file under `run_dir/runs`."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars = {}
    for folder in sorted(glob.glob(os.path.join(run_dir, "runs", "*"))):
        events = EventAccumulator(folder)
        events.Reload()
        for tag in events.Tags()["scalars"]:
            for event in events.Scalars(tag):
                scalars.setdefault(event.step, {})[tag] = event.value
    return scalars


def trackio_scalars(project: str, run_name: str) -> dict[int, dict[str, float]]:
    """{step: {key: value}} of a run in a local Trackio project (its own step count, so entries are read by epoch)."""
    from trackio.sqlite_storage import SQLiteStorage

    scalars = {}
    for log in SQLiteStorage.get_logs(project, run=run_name):
        scalars.setdefault(int(log["step"]), {}).update(
            {key: value for key, value in log.items() if isinstance(value, (int, float))}
        )
    return scalars


def peak_memory(records: list[dict]) -> dict[str, float]:
    """Each of `PEAK_MEMORY_KEYS` that every record holds (runs of older versions did not record it), at its largest."""
    return {key: float(max(r[key] for r in records)) for key in PEAK_MEMORY_KEYS if all(key in r for r in records)}


def summarize(runs: list[RunResult]) -> dict:
    """Mean and std over seeds of the test metrics and of the validation accuracy (what rows are chosen on), plus
    size and speed."""
    summary = {"seeds": [run.seed for run in runs], "parameters": runs[0].parameters}
    for metric, key in [
        *((metric, f"test_{metric}") for metric in REPORTED_METRICS),
        (VALIDATION_METRIC, "eval_accuracy"),
    ]:
        values = [run.metrics[key] for run in runs]
        summary[metric] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": values}
    if all("train_runtime" in run.metrics for run in runs):  # not known for a run an earlier process trained
        summary["train_seconds"] = float(np.mean([run.metrics["train_runtime"] for run in runs]))
        summary["images_per_second"] = float(np.mean([run.images_per_second for run in runs]))
    summary |= peak_memory([run.metrics for run in runs])
    summary["test_confusion_matrix"] = sum(run.test_confusion for run in runs).tolist()
    return summary


def reference_summary(result: dict) -> dict:
    """A reference row's metric result (one fit, no seeds) in the form `summarize` gives."""
    row = {m: {"mean": result[m], "std": 0.0, "values": [result[m]]} for m in REPORTED_METRICS if m in result}
    if VALIDATION_METRIC in result:
        value = result[VALIDATION_METRIC]
        row[VALIDATION_METRIC] = {"mean": value, "std": 0.0, "values": [value]}
    return {**row, "test_confusion_matrix": result["confusion_matrix"], **({"C": result["C"]} if "C" in result else {})}


def interval95(values, bounds: tuple[float, float]) -> tuple[float, float]:
    """Student-t 95 % interval of the mean of `values` (one value per fold), within the `bounds` the values can take
    (few folds give intervals wider than them: 2 folds have one degree of freedom, t = 12.7)."""
    values = np.asarray(values, dtype=np.float64)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    low, high = np.clip([values.mean() - half, values.mean() + half], *bounds)  # NaN stays NaN
    return float(low), float(high)


def across_splits(summaries: list[dict]) -> dict:
    """One row from its per-split summaries: with several splits (folds) each metric is the mean over folds (of the
    seed means) with its 95 % interval; with one split, the mean and std over seeds as `summarize` gives them."""
    if len(summaries) == 1:
        return summaries[0]
    row = {key: summaries[0][key] for key in ("seeds", "parameters", "C") if key in summaries[0]}
    for metric in (*REPORTED_METRICS, VALIDATION_METRIC):
        if metric in summaries[0]:
            fold_means = [summary[metric]["mean"] for summary in summaries]
            interval = interval95(fold_means, METRIC_BOUNDS[metric])
            row[metric] = {"mean": float(np.mean(fold_means)), "ci95": interval, "values": fold_means}
    for key in ("train_seconds", "images_per_second"):
        if all(key in summary for summary in summaries):
            row[key] = float(np.mean([summary[key] for summary in summaries]))
    row |= peak_memory(summaries)
    row["test_confusion_matrix"] = np.sum([summary["test_confusion_matrix"] for summary in summaries], axis=0).tolist()
    return row


def paired_differences(per_split: dict[str, list[dict]]) -> list[dict]:
    """Accuracy differences between every two rows on the same folds: mean and 95 % interval of the per-fold
    differences (a difference is real when its interval excludes 0). Empty with a single split."""
    names = list(per_split)
    if len(per_split[names[0]]) < 2:
        return []
    differences = []
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            per_fold = [
                a["accuracy"]["mean"] - b["accuracy"]["mean"] for a, b in zip(per_split[first], per_split[second])
            ]
            low, high = interval95(per_fold, (-1.0, 1.0))
            differences.append(
                {
                    "first": first,
                    "second": second,
                    "mean": float(np.mean(per_fold)),
                    "ci95": (low, high),
                    "per_fold": per_fold,
                }
            )
    return differences


def _cell(value: dict) -> str:
    if "ci95" in value:
        return f"{value['mean']:.3f} [{value['ci95'][0]:.3f}, {value['ci95'][1]:.3f}]"
    return f"{value['mean']:.3f} ± {value['std']:.3f}"


def _memory_cell(row: dict) -> str:
    """The row's peak memory over its runs: the training process's resident memory, and GPU memory where used."""
    if "peak_rss_mib" not in row:
        return "–"
    gpu = f" (GPU {row['peak_gpu_memory_mib']:.0f})" if "peak_gpu_memory_mib" in row else ""
    return f"{row['peak_rss_mib']:.0f}{gpu}"


def results_markdown(rows: dict[str, dict], title: str) -> str:
    """A table of `rows` (name → row): mean with its 95 % interval over folds (or ± std over seeds on one split);
    reference rows have no size, speed or memory."""
    lines = [
        f"# {title}",
        "",
        "| model | validation accuracy | test accuracy | macro-F1 | tier MAE | off-by-two | parameters | train s "
        "| images/s | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        cells = [_cell(row[m]) if m in row else "–" for m in (VALIDATION_METRIC, *REPORTED_METRICS)]
        size = f"{row['parameters'] / 1e6:.2f} M" if row.get("parameters") else "–"
        speed = (
            [f"{row['train_seconds']:.0f}", f"{row['images_per_second']:.1f}"] if "train_seconds" in row else ["–", "–"]
        )
        lines.append(f"| {name} | " + " | ".join(cells + [size, *speed, _memory_cell(row)]) + " |")
    return "\n".join(lines) + "\n"


def differences_markdown(differences: list[dict]) -> str:
    """The paired accuracy differences as a table; a difference whose interval excludes 0 is marked real, from 3
    folds on (two equal differences give an interval of width 0, which says nothing)."""
    if not differences:
        return ""
    lines = [
        "",
        "## Paired accuracy differences (same folds; mean and 95 % interval of the per-fold differences)",
        "",
        "| first | second | first − second | 95 % interval | real? |",
        "|---|---|---|---|---|",
    ]
    for d in differences:
        low, high = d["ci95"]
        real = ("yes" if low > 0 or high < 0 else "no") if len(d["per_fold"]) > 2 else "– (2 folds)"
        lines.append(f"| {d['first']} | {d['second']} | {d['mean']:+.3f} | [{low:+.3f}, {high:+.3f}] | {real} |")
    return "\n".join(lines) + "\n"


def plot_learning_curves(runs_by_name: dict[str, list[RunResult]], path: str) -> None:
    """Validation accuracy and training loss per epoch, one line per seed."""
    figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    for index, (name, runs) in enumerate(runs_by_name.items()):
        colour = f"C{index}"
        for k, run in enumerate(runs):
            evals = [entry for entry in run.log_history if "eval_accuracy" in entry]
            losses = [entry for entry in run.log_history if "loss" in entry]
            label = name if k == 0 else None
            accuracy_axis.plot(
                [e["epoch"] for e in evals], [e["eval_accuracy"] for e in evals], color=colour, alpha=0.8, label=label
            )
            loss_axis.plot(
                [e["epoch"] for e in losses], [e["loss"] for e in losses], color=colour, alpha=0.8, label=label
            )
    accuracy_axis.axhline(1 / 3, color="grey", linestyle="--", label="chance")
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy (one line per seed)")
    loss_axis.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    accuracy_axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_confusion_matrices(rows: dict[str, dict], label_names: list[str], path: str) -> None:
    """Test confusion matrices (summed over seeds), rows true tier, columns predicted."""
    figure, axes = plt.subplots(1, len(rows), figsize=(3.6 * len(rows), 3.6), squeeze=False)
    for axis, (name, row) in zip(axes[0], rows.items()):
        matrix = np.array(row["test_confusion_matrix"])
        axis.imshow(matrix, cmap="Blues")
        for (i, j), value in np.ndenumerate(matrix):
            axis.text(j, i, str(value), ha="center", va="center", color="black")
        axis.set(xticks=range(len(label_names)), yticks=range(len(label_names)), title=name)
        axis.set_xticklabels(label_names, rotation=30)
        axis.set_yticklabels(label_names)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


@torch.no_grad()
def evaluated(model, processor, houses: list[dict]) -> list:
    """The model's output (attentions included) on each dataset row, one at a time, from the inputs the Trainer's
    evaluation gives it: the first `config.max_photos` photos through the processor, and the facts of
    `config.listing_facts`."""
    config = model.eval().config
    evaluation = house_transforms(processor, config.max_photos, False, config.listing_facts)["test"]
    outputs = []
    for house in houses:
        features = evaluation({name: [value] for name, value in house.items()})
        inputs = collate_houses([{name: values[0] for name, values in features.items()}])
        outputs.append(model(**inputs, output_attentions=True))
    return outputs


def plot_photo_attention(model, houses, processor, label_names: list[str], path: str) -> None:
    """Example houses (dataset rows), one row each: the photos the model read (its first `config.max_photos`), titled
    with the attention each got, and the tier predicted from the inputs the Trainer's evaluation gives it (photos
    through the processor, and the listing facts of `config.listing_facts`)."""
    config = model.config
    columns = max(min(len(house["images"]), config.max_photos) for house in houses)
    figure, axes = plt.subplots(len(houses), columns, figsize=(2.2 * columns + 1.5, 2.0 * len(houses)), squeeze=False)
    for row, house, output in zip(axes, houses, evaluated(model, processor, houses)):
        photos = house["images"][: config.max_photos]
        attention = output.photo_attention[0].tolist()
        predicted = label_names[int(output.logits.argmax(-1))]
        for column, axis in enumerate(row):
            axis.axis("off")
            if column < len(photos):
                axis.imshow(photos[column])
                axis.set_title(f"attention {attention[column]:.2f}", fontsize=9)
        row[0].text(-0.1, 0.5, f"{house['id']}\ntrue {label_names[house['label']]}\npredicted {predicted}",
                    transform=row[0].transAxes, ha="right", va="center", fontsize=9)  # fmt: skip
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
