"""Data flow: dataset (built or loaded) → per-house photo transforms → padded batches."""

from .collator import collate_houses
from .loading import DatasetArguments
from .transforms import HouseTransform, house_transforms, processor_for_backbone, train_photo_transform

__all__ = [
    "DatasetArguments",
    "HouseTransform",
    "collate_houses",
    "house_transforms",
    "processor_for_backbone",
    "train_photo_transform",
]
