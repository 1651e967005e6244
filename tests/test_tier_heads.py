"""`tier_heads.py`: both heads' outputs and losses, and every model wearing the head its config names."""

import pytest
import torch
import torch.nn.functional as F

from zillow_vit.models.tier_heads import TierHead, tier_targets
from zillow_vit.recipes import MODELS

from conftest import write_tiny_vit_checkpoint


def head_with_bias(head_type: str, bias: float, in_features: int = 4) -> TierHead:
    """A head whose output ignores its input: the dense layer is all zeros but the bias."""
    head = TierHead(in_features, 3, head_type)
    with torch.no_grad():
        head.dense.weight.zero_()
        head.dense.bias.fill_(bias)
    return head


def test_tier_targets_run_from_cheap_zero_to_expensive_one():
    assert tier_targets(3).tolist() == [0.0, 0.5, 1.0]


def test_classification_head_gives_logits_and_cross_entropy():
    torch.manual_seed(0)
    head = TierHead(4, 3, "classification")
    features, labels = torch.randn(5, 4), torch.tensor([0, 1, 2, 2, 0])
    logits, score, loss = head(features, labels)
    assert score is None and logits.shape == (5, 3)
    torch.testing.assert_close(logits, head.dense(features))
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels))
    assert head(features)[2] is None


def test_score_head_is_one_sigmoid_value_and_its_logits_are_minus_squared_distances():
    torch.manual_seed(0)
    head = TierHead(4, 3, "score")
    assert head.dense.out_features == 1
    features = torch.randn(5, 4)
    logits, score, loss = head(features)
    torch.testing.assert_close(score, torch.sigmoid(head.dense(features)).squeeze(-1))
    torch.testing.assert_close(logits, -((score[:, None] - torch.tensor([0.0, 0.5, 1.0])) ** 2))
    assert loss is None


@pytest.mark.parametrize("label", [0, 1, 2])
def test_score_loss_is_binary_cross_entropy_against_the_tier_target(label):
    head = head_with_bias("score", 0.3)
    _, score, loss = head(torch.zeros(2, 4), labels=torch.tensor([label, label]))
    target = torch.full((2,), label / 2)
    torch.testing.assert_close(loss, F.binary_cross_entropy(score, target))


@pytest.mark.parametrize(
    ("score", "tier"), [(0.0, 0), (0.1, 0), (0.24, 0), (0.26, 1), (0.5, 1), (0.74, 1), (0.76, 2), (0.9, 2), (1.0, 2)]
)
def test_score_head_reads_tiers_by_thresholds(score, tier):
    head = head_with_bias("score", torch.logit(torch.tensor(score)).clamp(-30, 30).item())
    logits, predicted_score, _ = head(torch.zeros(1, 4))
    assert predicted_score.item() == pytest.approx(score, abs=1e-6)
    assert logits.argmax(-1).item() == tier


def test_score_head_loss_is_smallest_at_the_tier_target():
    grid = torch.linspace(0.01, 0.99, 99)
    for label, target in enumerate([0.0, 0.5, 1.0]):
        losses = [
            head_with_bias("score", torch.logit(s).item(), 1)(torch.zeros(1, 1), torch.tensor([label]))[2] for s in grid
        ]
        assert abs(grid[int(torch.stack(losses).argmin())].item() - min(max(target, 0.01), 0.99)) < 0.011


def test_unknown_head_type_is_refused():
    with pytest.raises(ValueError, match="head_type must be one of"):
        TierHead(4, 3, "regression")
    with pytest.raises(ValueError, match="head_type must be one of"):
        MODELS["cnn"].make_config("tiny", head_type="regression")


@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_every_model_wears_the_head_its_config_names(model_name, tmp_path):
    recipe = MODELS[model_name]
    backbone = write_tiny_vit_checkpoint(tmp_path / "backbone") if recipe.uses_backbone else None
    model, _ = recipe.build("tiny", backbone=backbone, head_type="score")
    labels = torch.tensor([0, 2])
    output = model.eval()(torch.randn(2, 2, 3, 32, 32), labels=labels)
    assert model.classifier.dense.out_features == 1 and output.score.shape == (2,)
    torch.testing.assert_close(output.loss, F.binary_cross_entropy(output.score, torch.tensor([0.0, 1.0])))
