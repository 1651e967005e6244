"""House tier metric: accuracy, macro-F1, per-class recall, ordinal errors and the confusion matrix.

An `evaluate` module of the project's own, loaded by path (no Hub needed):
`evaluate.load("src/zillow_vit/metrics/house_tier_metric.py")`.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """Metrics for ordered classes (price tiers cheap < average < expensive): accuracy, macro-F1,
recall of each class, the mean absolute tier error (|predicted - true| averaged; 0 is perfect, 2 the
worst), the off-by-two rate (cheap called expensive or the reverse) and the confusion matrix
(rows: true tier, columns: predicted tier)."""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]`): predicted tier indices.
    references (`list[int]`): true tier indices.
    label_names (`list[str]`, optional): names of the tiers in index order; they name the recall keys
        (`recall_cheap`, ...). Defaults to `["cheap", "average", "expensive"]`.
Returns:
    accuracy, f1_macro, recall_<name> for each tier, tier_mae, off_by_two_rate, confusion_matrix.
Examples:
    >>> metric = evaluate.load("src/zillow_vit/metrics/house_tier_metric.py")
    >>> metric.compute(predictions=[0, 1, 2], references=[0, 1, 1])["accuracy"]
    0.6666666666666666
"""

DEFAULT_LABEL_NAMES = ("cheap", "average", "expensive")


class HouseTierMetric(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, label_names=DEFAULT_LABEL_NAMES):
        predictions, references = np.asarray(predictions), np.asarray(references)
        num_classes = len(label_names)
        confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
        np.add.at(confusion, (references, predictions), 1)
        true_positives = np.diag(confusion)
        support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
        recall = np.divide(true_positives, support, out=np.zeros(num_classes), where=support > 0)
        precision = np.divide(true_positives, predicted, out=np.zeros(num_classes), where=predicted > 0)
        denominator = precision + recall
        f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(num_classes), where=denominator > 0)
        tier_error = np.abs(predictions - references)
        return {
            "accuracy": float(true_positives.sum() / len(references)),
            "f1_macro": float(f1.mean()),
            **{f"recall_{name}": float(value) for name, value in zip(label_names, recall)},
            "tier_mae": float(tier_error.mean()),
            "off_by_two_rate": float((tier_error == 2).mean()),
            "confusion_matrix": confusion.tolist(),
        }
