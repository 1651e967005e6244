"""Data flow: dataset (built or loaded) → listing fact statistics of the training split → per-house photo (and fact)
transforms → padded batches; and a listing's houses read as a trained model reads them (prediction)."""

from .collator import collate_houses
from .fact_statistics import fit_listing_facts, listing_fields
from .listing_houses import (
    House,
    fetch_relisted_photos,
    model_houses,
    photo_cache_dir,
    read_model_listing,
    stored_short_side,
)
from .loading import DatasetArguments
from .transforms import HouseTransform, house_transforms, processor_for_backbone, train_photo_transform

__all__ = [
    "DatasetArguments",
    "House",
    "HouseTransform",
    "collate_houses",
    "fetch_relisted_photos",
    "fit_listing_facts",
    "house_transforms",
    "listing_fields",
    "model_houses",
    "photo_cache_dir",
    "processor_for_backbone",
    "read_model_listing",
    "stored_short_side",
    "train_photo_transform",
]
