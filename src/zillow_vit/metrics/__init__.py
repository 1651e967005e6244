"""Evaluation: the project's `evaluate` metric module and the `compute_metrics` hook for `Trainer`."""

import json
import os

import evaluate
import numpy as np

METRIC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "house_tier_metric.py")


def load_tier_metric() -> evaluate.EvaluationModule:
    """The house tier metric, loaded by path: works without the Hub."""
    return evaluate.load(METRIC_PATH)


def build_compute_metrics(label_names: list[str]):
    """`compute_metrics` for `Trainer`: argmax of the logits against the labels.

    Trainer's metric logs take scalars and strings, so the confusion matrix goes in as a JSON string.
    """
    metric = load_tier_metric()

    def compute_metrics(eval_prediction) -> dict:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        metrics = metric.compute(
            predictions=np.argmax(logits, axis=-1), references=eval_prediction.label_ids, label_names=label_names
        )
        metrics["confusion_matrix"] = json.dumps(metrics["confusion_matrix"])
        return metrics

    return compute_metrics
