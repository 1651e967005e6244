"""Read finished runs and turn them into the comparison report: tables, learning curves, confusion matrices
and the per-photo attention of the multi-photo models."""

import json
import os
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402

REPORTED_METRICS = ("accuracy", "f1_macro", "tier_mae", "off_by_two_rate")


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


def count_parameters(run_dir: str) -> int:
    with safe_open(os.path.join(run_dir, "model.safetensors"), "pt") as weights:
        return sum(int(np.prod(weights.get_slice(key).get_shape())) for key in weights.keys())


def read_run(run_dir: str, name: str, seed: int, photos_per_house: float) -> RunResult:
    with open(os.path.join(run_dir, "all_results.json")) as handle:
        metrics = json.load(handle)
    with open(os.path.join(run_dir, "trainer_state.json")) as handle:
        log_history = json.load(handle)["log_history"]
    return RunResult(name, seed, metrics, log_history, count_parameters(run_dir), photos_per_house)


def summarize(runs: list[RunResult]) -> dict:
    """Mean and std over seeds of the test metrics, plus size and speed."""
    summary = {"seeds": [run.seed for run in runs], "parameters": runs[0].parameters}
    for metric in REPORTED_METRICS:
        values = [run.metrics[f"test_{metric}"] for run in runs]
        summary[metric] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": values}
    summary["train_seconds"] = float(np.mean([run.metrics["train_runtime"] for run in runs]))
    summary["images_per_second"] = float(np.mean([run.images_per_second for run in runs]))
    summary["test_confusion_matrix"] = sum(run.test_confusion for run in runs).tolist()
    return summary


def results_markdown(rows: dict[str, dict], title: str) -> str:
    """A table of `rows` (name → summary); reference rows have no seeds, size or speed."""
    lines = [
        f"# {title}",
        "",
        "| model | test accuracy | macro-F1 | tier MAE | off-by-two | parameters | train s | images/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        cells = [f"{row[m]['mean']:.3f} ± {row[m]['std']:.3f}" for m in REPORTED_METRICS]
        size = f"{row['parameters'] / 1e6:.2f} M" if row.get("parameters") else "–"
        speed = (
            [f"{row['train_seconds']:.0f}", f"{row['images_per_second']:.1f}"] if "train_seconds" in row else ["–", "–"]
        )
        lines.append(f"| {name} | " + " | ".join(cells + [size, *speed]) + " |")
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
def plot_photo_attention(model, houses, processor, label_names: list[str], path: str) -> None:
    """Example houses, one row each: the photos the model read (its first `config.max_photos`), titled with the
    attention each got."""
    model.eval()
    max_photos = model.config.max_photos
    columns = max(min(len(house["images"]), max_photos) for house in houses)
    figure, axes = plt.subplots(len(houses), columns, figsize=(2.2 * columns + 1.5, 2.0 * len(houses)), squeeze=False)
    for row, house in zip(axes, houses):
        photos = house["images"][:max_photos]
        output = model(**processor(photos), output_attentions=True)
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
