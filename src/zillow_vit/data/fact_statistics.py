"""What a model learns about the listing facts before training: per fact of the dataset, its statistics (a number)
or vocabulary (a category), of the training split only, written into `config.listing_facts` (see
`models/listing_facts.py` for how the model reads them)."""

import math
from collections import Counter

import numpy as np
from datasets import Dataset

from dataset_builder import BuildReport

MAX_VOCABULARY = 1000  # most frequent training values of a category; the rest read as its unknown value
MIN_CATEGORY_COUNT = 2  # a value seen once in training is unknown, so the unknown value's embedding learns too
LOG_SKEWNESS = 1.0  # a number whose training values are all > 0 and this skewed (area, lot size) is read as its log


def listing_fields(report: BuildReport) -> dict[str, dict]:
    """The dataset's fact columns as its build report records them: column → {"path", "kind", "missing",
    "unparseable"}; {} for a build without facts."""
    return report.listing_fields


def fit_listing_facts(train: Dataset, fields: dict[str, dict]) -> list[dict]:
    """`config.listing_facts` for the fact columns `fields` (as `listing_fields` gives them) of the training split
    `train`: a number's mean and std (of its log when skewed, see `LOG_SKEWNESS`), a category's vocabulary (values
    seen at least `MIN_CATEGORY_COUNT` times, most frequent first, at most `MAX_VOCABULARY`)."""
    facts = []
    for name, field in fields.items():
        fact = {"name": name, "path": field["path"], "kind": field["kind"]}
        values = train[name]
        if field["kind"] == "number":
            fact.update(number_statistics(values))
        else:
            fact["vocabulary"] = vocabulary([value for value in values if value is not None])
        facts.append(fact)
    return facts


def number_statistics(values: list[float | None]) -> dict:
    """`mean`, `std` and `log` of the finite values (mean 0 and std 1 when there are none, std 1 when constant)."""
    present = np.array([value for value in values if value is not None], dtype=np.float64)
    present = present[np.isfinite(present)]
    log = bool(len(present) > 2 and (present > 0).all() and skewness(present) > LOG_SKEWNESS)
    if log:
        present = np.log(present)
    mean = float(present.mean()) if len(present) else 0.0
    std = float(present.std()) if len(present) else 0.0
    return {"mean": mean, "std": std if std > 0 and math.isfinite(std) else 1.0, "log": log}


def skewness(values: np.ndarray) -> float:
    spread = values.std()
    return float(((values - values.mean()) ** 3).mean() / spread**3) if spread > 0 else 0.0


def vocabulary(values: list[str]) -> list[str]:
    counts = Counter(values)
    frequent = [value for value, count in counts.items() if count >= MIN_CATEGORY_COUNT]
    return sorted(frequent, key=lambda value: (-counts[value], value))[:MAX_VOCABULARY]


__all__ = ["fit_listing_facts", "listing_fields"]
