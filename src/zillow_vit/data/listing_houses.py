"""The houses of a listing export as a trained model reads them: each house's record, and its facts `{name: value}`
read at the paths and with the kinds of the model's `config.listing_facts` (what it was trained with). `predict.py`
and the demo app both read listings through here."""

import os

import datasets

from dataset_builder import DatasetOptions, Listing, ListingField, read_listings


def photo_cache_dir(options: DatasetOptions) -> str:
    """Where a listing's photos are stored for prediction: `options.photo_cache_dir`, else beside the datasets
    cache."""
    return options.photo_cache_dir or os.path.join(datasets.config.HF_DATASETS_CACHE, "zillow_houses_photos")


def stored_short_side(processors: list, options: DatasetOptions) -> int:
    """The short side to store a listing's photos at for models with these image processors: the largest their
    builds stored (`max_short_side`), or `options.image_short_side` when one does not say."""
    short_sides = [processor.max_short_side for processor in processors]
    return max(short_sides) if all(short_sides) else options.image_short_side


def read_model_listing(
    location: str, listing_facts: list[dict], options: DatasetOptions | None = None, photo_short_side: int | None = None
) -> list[tuple[Listing, dict]]:
    """`(listing, facts)` of every house record of the export at `location`, priced or not, read with the field names
    of `options` (default: the common names); of a photo offered in several sizes, the smallest that keeps
    `photo_short_side` (None: the largest)."""
    options = options or DatasetOptions()
    fields = [ListingField(fact["path"], fact["kind"]) for fact in listing_facts]
    listings = read_listings(
        location, options.id_field, options.price_field, options.images_field, fields,
        require_price=False, local_photo_root=options.local_photo_root, photo_short_side=photo_short_side,
    )  # fmt: skip
    return [
        (listing, {fact["name"]: listing.facts.get(field.column) for fact, field in zip(listing_facts, fields)})
        for listing in listings
    ]
