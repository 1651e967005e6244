"""The houses of a listing export as a trained model reads them: each house's record, and its facts `{name: value}`
read at the paths and with the kinds of the model's `config.listing_facts` (what it was trained with). `predict.py`
and the demo app both read listings through here."""

from dataset_builder import DatasetOptions, Listing, ListingField, read_listings


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
