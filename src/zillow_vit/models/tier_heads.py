"""The two heads every model of the project can wear, chosen by `config.head_type`.

- "classification": a dense layer to one logit per tier, trained with cross-entropy.
- "score": a dense layer to one value in [0, 1] (a sigmoid), the house's place on the price ladder,
  trained as an ordinal target: tier k of K maps to k / (K - 1) (cheap 0, average 0.5, expensive 1) and
  the loss is binary cross-entropy against that soft target, whose minimum is the target itself. The tier
  is read off as the nearest target, i.e. thresholds halfway between them (0.25 and 0.75 for 3 tiers):
  0.1 → cheap, 0.9 → expensive. Its `logits` are minus the squared distance to each target, so their
  argmax is that tier and every model is evaluated the same way.

Imported relatively by the modeling files, so it travels with them as Hub custom code.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.utils import ModelOutput

HEAD_TYPES = ("classification", "score")


@dataclass
class HouseClassifierOutput(ModelOutput):
    """
    Output of every model of the project.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): the head's loss, when `labels` are given.
        logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`): tier scores; argmax is the tier.
        score (`torch.FloatTensor` of shape `(batch_size,)`, *optional*): the value in [0, 1] of the score head.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): house-encoder tokens `(batch_size, 1 + photos +
            facts, hidden_size)` (house token, photos, then listing facts), input then each layer, with
            `output_hidden_states=True`.
        attentions (`tuple(torch.FloatTensor)`, *optional*): one per house-encoder layer, `(batch_size, heads,
            1 + photos + facts, 1 + photos + facts)`, zero on padded photo slots, with `output_attentions=True`.
        photo_attention (`torch.FloatTensor` of shape `(batch_size, photos)`, *optional*): the house token's
            attention to each photo in the last house-encoder layer, averaged over heads and renormalised over the
            photos and facts (the house token itself left out): without listing facts rows sum to 1; padded slots
            are 0. With `output_attentions=True`.
        fact_attention (`torch.FloatTensor` of shape `(batch_size, facts)`, *optional*): the same attention to each
            fact of `config.listing_facts`; `photo_attention` and `fact_attention` together sum to 1 per house. For
            models with listing facts, with `output_attentions=True`.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    score: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    photo_attention: torch.FloatTensor | None = None
    fact_attention: torch.FloatTensor | None = None


def check_head_type(head_type: str) -> None:
    if head_type not in HEAD_TYPES:
        raise ValueError(f"head_type must be one of {HEAD_TYPES}, got {head_type!r}")


def tier_targets(num_labels: int, device=None) -> torch.Tensor:
    """Score targets of the tiers: evenly spaced from 0 to 1."""
    return torch.linspace(0.0, 1.0, num_labels, device=device)


class TierHead(nn.Module):
    """Features → (logits, score, loss); `score` is None for the classification head."""

    def __init__(self, in_features: int, num_labels: int, head_type: str):
        super().__init__()
        check_head_type(head_type)
        self.head_type = head_type
        self.num_labels = num_labels
        self.dense = nn.Linear(in_features, num_labels if head_type == "classification" else 1)

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None):
        if self.head_type == "classification":
            logits = self.dense(features)
            loss = F.cross_entropy(logits, labels.to(logits.device)) if labels is not None else None
            return logits, None, loss
        score_logit = self.dense(features).squeeze(-1)
        score = torch.sigmoid(score_logit)
        targets = tier_targets(self.num_labels, score.device)
        logits = -((score[:, None] - targets) ** 2)
        loss = None
        if labels is not None:
            loss = F.binary_cross_entropy_with_logits(score_logit, targets[labels.to(score.device)])
        return logits, score, loss
