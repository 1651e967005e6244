import json

import numpy as np
import pytest
from transformers import EvalPrediction

from zillow_vit.metrics import build_compute_metrics, load_tier_metric


def test_metric_values_on_a_known_case():
    result = load_tier_metric().compute(predictions=[0, 1, 2, 2, 0, 1], references=[0, 1, 1, 0, 0, 2])
    assert result["accuracy"] == pytest.approx(3 / 6)
    assert result["confusion_matrix"] == [[2, 0, 1], [0, 1, 1], [0, 1, 0]]
    assert (result["recall_cheap"], result["recall_average"], result["recall_expensive"]) == pytest.approx(
        (2 / 3, 1 / 2, 0)
    )
    # F1: cheap 2*(1*2/3)/(1+2/3) = 0.8, average 0.5, expensive 0
    assert result["f1_macro"] == pytest.approx((0.8 + 0.5 + 0.0) / 3)
    assert result["tier_mae"] == pytest.approx((0 + 0 + 1 + 2 + 0 + 1) / 6)
    assert result["off_by_two_rate"] == pytest.approx(1 / 6)


def test_compute_metrics_takes_argmax_of_logits():
    compute = build_compute_metrics(["cheap", "average", "expensive"])
    logits = np.array([[3.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 2.0, 1.0]])
    metrics = compute(EvalPrediction(predictions=logits, label_ids=np.array([0, 2, 0])))
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert json.loads(metrics["confusion_matrix"]) == [[1, 1, 0], [0, 0, 0], [0, 0, 1]]
