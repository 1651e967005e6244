"""Data flow: dataset (built or loaded) → per-house photo transforms → padded batches."""

from .collator import collate_houses
from .loading import DatasetArguments
from .transforms import HouseTransform, photo_transforms

__all__ = ["DatasetArguments", "HouseTransform", "collate_houses", "photo_transforms"]
