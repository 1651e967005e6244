"""Seed ensembles: trained runs of one recipe (other seeds) read as one model. Its tier probabilities are the mean of
the members' (for score heads, the mean score). Members must mean the same by a tier and read the same inputs."""

import tempfile

import numpy as np
import torch
from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification, Trainer, TrainingArguments

from .data import collate_houses, house_transforms
from .models.tier_heads import tier_targets

SHARED_FIELDS = ("id2label", "tier_cut_points", "head_type", "max_photos", "listing_facts")


def check_members(configs: dict) -> None:
    """`{name: config}` of the members: a ValueError naming the first member and field that differ from the first's."""
    (first_name, first), *others = configs.items()
    for name, config in others:
        for field in SHARED_FIELDS:
            if getattr(config, field) != getattr(first, field):
                raise ValueError(
                    f"{name}: {field} is {getattr(config, field)!r} where {first_name} has {getattr(first, field)!r}; "
                    f"the members of an ensemble must share {', '.join(SHARED_FIELDS)}"
                )


def load_members(paths: list[str], trust_remote_code: bool = False, **config_fields) -> list[tuple]:
    """`(model, image processor)` of each run folder or Hub repo in `paths`, in eval mode, after `check_members`;
    `config_fields` override config values of every member (e.g. `test_time_flip=True`)."""
    check_members({path: AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code) for path in paths})
    return [
        (
            AutoModelForImageClassification.from_pretrained(
                path, trust_remote_code=trust_remote_code, **config_fields
            ).eval(),
            AutoImageProcessor.from_pretrained(path, trust_remote_code=trust_remote_code),
        )
        for path in paths
    ]


def combined(logits: list[torch.Tensor], scores: list[torch.Tensor | None]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The members' `(logits, score)` on the same houses → the ensemble's: the log of the mean tier probabilities, or
    for score heads the mean score and its logits (minus the squared distance to each tier's target). One member's
    outputs are returned as they are."""
    if len(logits) == 1:
        return logits[0], scores[0]
    if scores[0] is None:
        return torch.stack([member.float().softmax(-1) for member in logits]).mean(0).log(), None
    score = torch.stack([member.float() for member in scores]).mean(0)
    return -((score[:, None] - tier_targets(logits[0].shape[-1], score.device)) ** 2), score


def split_outputs(model, processor, houses, batch_size: int = 16) -> dict:
    """A model's outputs on the houses of a dataset split (the evaluation transform, through `Trainer.predict`):
    `{"ids", "logits", "score"}` as lists (`score` None for classification heads)."""
    config = model.config
    transform = house_transforms(processor, config.max_photos, False, config.listing_facts)["test"]
    with tempfile.TemporaryDirectory() as output_dir:
        arguments = TrainingArguments(
            output_dir,
            per_device_eval_batch_size=batch_size,
            remove_unused_columns=False,  # the transform reads the photos and facts columns
            dataloader_pin_memory=torch.cuda.is_available(),
            report_to="none",
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=arguments, data_collator=collate_houses)
        predictions = trainer.predict(houses.with_transform(transform)).predictions
    logits, score = predictions if isinstance(predictions, tuple) else (predictions, None)
    return {
        "ids": list(houses["id"]),
        "logits": np.asarray(logits).tolist(),
        "score": None if score is None else np.asarray(score).tolist(),
    }


__all__ = ["SHARED_FIELDS", "check_members", "combined", "load_members", "split_outputs"]
