"""The houses of a listing export as a trained model reads them: each house's record, and its facts `{name: value}`
read at the paths and with the kinds of the model's `config.listing_facts` (what it was trained with); and the photos
it reads of each, its first usable ones in listing order, a relisted house's from its first record with a usable
photo. `predict.py` and the demo app both read listings through here."""

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field

import datasets

from dataset_builder import DatasetOptions, Listing, ListingField, PhotoStore, read_listings
from dataset_builder.report import shortened

logger = logging.getLogger(__name__)


@dataclass
class House:
    """A house to score: its photos in listing order, and its price when the listing has one."""

    house_id: str
    photos: list[str]
    price: float | None = None
    facts: dict = field(default_factory=dict)  # name -> value of the model's listing facts (None: missing)
    problem: str | None = None
    dropped: list[dict] = field(default_factory=list)  # {"photo", "reason"} of each unusable photo tried
    stored: list[str] = field(default_factory=list)  # paths of the usable photos read, at most max_photos
    repeat: str | None = None  # a repeat of an earlier record's id: the "duplicate id" reason, if that one is scored


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


def model_houses(
    location: str, listing_facts: list[dict], options: DatasetOptions, photo_short_side: int | None = None
) -> list[House]:
    """Every house record of the export at `location` as a `House` to score (`read_model_listing`); a repeat of an
    id is left to `fetch_relisted_photos`."""
    return [
        House(
            listing.house_id,
            listing.photos,
            listing.price,
            facts,
            None if listing.repeat_of is not None else listing.problem,  # a repeat is tried if those before fail
            [{"photo": shortened(photo), "reason": reason} for photo, reason in listing.refused_photos],
            repeat=listing.problem if listing.repeat_of is not None else None,
        )
        for listing, facts in read_model_listing(location, listing_facts, options, photo_short_side)
    ]


def fetch_photos(houses: list[House], store: PhotoStore, max_photos: int, results: dict) -> None:
    """Give each house its first `max_photos` usable photos in listing order: the first `max_photos` are fetched, and
    for each one that fails the next in line, until enough are usable or none is left. `results` (location ->
    `PhotoResult`) holds the photos fetched before, which are not fetched again; it gains this call's."""
    tried = [0] * len(houses)  # by position: ids need not be unique
    while True:
        wanted = {}
        for index, house in enumerate(houses):
            if house.problem is None:
                needed = max_photos - len(house.stored)
                wanted[index] = house.photos[tried[index] : tried[index] + needed]
        locations = [photo for photos in wanted.values() for photo in photos]
        if not locations:
            break
        new = [photo for photo in locations if photo not in results]
        if new:
            results.update(store.prepare(new))
        for index, photos in wanted.items():
            house = houses[index]
            for photo in photos:
                result = results[photo]
                if result.path:
                    house.stored.append(result.path)
                else:
                    house.dropped.append({"photo": shortened(photo), "reason": result.error})
                    logger.warning("House %s: dropped photo %s (%s)", house.house_id, photo, result.error)
            tried[index] += len(photos)
    for house in houses:
        if house.problem is None and not house.stored:
            house.problem = f"no usable photos ({len(house.dropped)} failed)"


def fetch_relisted_photos(houses: list[House], store: PhotoStore, max_photos: int) -> None:
    """`fetch_photos` for a listing whose ids may repeat: a repeated id is one house, as a build keeps it, scored on
    its first record with a usable photo; a later record is fetched only when those before it have none, and any
    other later record is a duplicate."""
    waiting = defaultdict(list)  # id -> its records still to try, in listing order
    for house in houses:
        if house.problem is None:
            waiting[house.house_id].append(house)
    scored, results = {}, {}
    while waiting:
        batch = [records.pop(0) for records in waiting.values()]
        fetch_photos(batch, store, max_photos, results)
        scored.update((house.house_id, house) for house in batch if house.problem is None)
        waiting = {house_id: records for house_id, records in waiting.items() if house_id not in scored and records}
    for house in houses:
        if house.problem is None and scored[house.house_id] is not house:
            house.problem = house.repeat
