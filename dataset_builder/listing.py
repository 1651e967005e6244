"""Read a listing export (JSON array, JSON object holding the array, or JSON Lines) into `Listing`s.

Real exports name their fields differently, so the id, price and photo fields are detected among
common names unless named explicitly. Records are parsed leniently: a record that cannot be used
becomes a `Listing` with a `problem` (no id, no photos, duplicate id, not an object) or a
`price_problem` (no price, unparseable price), so the build can skip it and report why; a caller
that needs no price (prediction) uses every listing whose `problem` is None.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlparse

import requests

ID_FIELDS = ("id", "zpid", "listing_id", "listingId")
PRICE_FIELDS = ("price", "unformattedPrice", "listPrice", "list_price")
PHOTO_FIELDS = ("images", "photos", "image_urls", "imgSrc", "carouselPhotos")
PHOTO_URL_KEYS = ("url", "src", "href")
_SUFFIX_MULTIPLIERS = {"k": 1e3, "m": 1e6, "b": 1e9}
_PRICE_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)([kmb]?)$")


class ListingFormatError(ValueError):
    """The listing file itself cannot be read (malformed JSON, unexpected layout)."""


@dataclass
class Listing:
    """One house of the export; `problem` says why it cannot be used at all, `price_problem` why it has no price."""

    row: int
    house_id: str
    price: float | None = None
    photos: list[str] = field(default_factory=list)
    extra: dict[str, float | None] = field(default_factory=dict)
    problem: str | None = None
    price_problem: str | None = None

    @property
    def skip_reason(self) -> str | None:
        """Why a build (which needs the price) skips this house, if it does."""
        return self.problem or self.price_problem


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https")


def read_text(location: str, timeout: float = 30.0) -> str:
    """Text of a local file or an http(s) URL."""
    if is_url(location):
        response = requests.get(location, timeout=timeout)
        response.raise_for_status()
        return response.text
    with open(location, encoding="utf-8") as handle:
        return handle.read()


def parse_records(text: str, source: str) -> list[dict]:
    """Records of a JSON array, of the one list of objects inside a JSON object, or of JSON Lines."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{") and error.msg == "Extra data":
            return _parse_json_lines(text, source)
        raise ListingFormatError(
            f"{source}: malformed JSON at line {error.lineno}, column {error.colno} (char {error.pos}): {error.msg}"
        ) from error
    if isinstance(document, dict):
        arrays = [
            value for value in document.values() if isinstance(value, list) and value and isinstance(value[0], dict)
        ]
        if len(arrays) != 1:
            raise ListingFormatError(
                f"{source}: a JSON object must hold exactly one list of houses, found {len(arrays)} "
                f"(keys: {sorted(document)})"
            )
        document = arrays[0]
    if not isinstance(document, list):
        raise ListingFormatError(f"{source}: expected a JSON array of houses, got {type(document).__name__}")
    return document


def _parse_json_lines(text: str, source: str) -> list[dict]:
    records = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ListingFormatError(
                f"{source}: malformed JSON Lines at line {line_number}, column {error.colno}: {error.msg}"
            ) from error
    return records


def parse_price(value) -> float:
    """A positive price from a number or a string such as "$1,599,900", "850K" or "1.2M"."""
    if isinstance(value, bool):
        raise ValueError(f"unparseable price {value!r}")
    if isinstance(value, (int, float)):
        price = float(value)
    elif isinstance(value, str):
        cleaned = value.strip().lower().replace("$", "").replace(",", "").replace(" ", "").rstrip("+")
        match = _PRICE_PATTERN.match(cleaned)
        if match is None:
            raise ValueError(f"unparseable price {value!r}")
        price = float(match.group(1)) * _SUFFIX_MULTIPLIERS.get(match.group(2), 1.0)
    else:
        raise ValueError(f"unparseable price {value!r}")
    if not math.isfinite(price) or price <= 0:
        raise ValueError(f"unparseable price {value!r} (must be a positive number)")
    return price


def detect_field(records: list[dict], candidates: tuple[str, ...], explicit: str | None) -> str | None:
    """The explicitly named field, else the first candidate that any record has."""
    if explicit:
        return explicit
    for name in candidates:
        if any(isinstance(record, dict) and name in record for record in records):
            return name
    return None


def photo_locations(value, base: str) -> list[str]:
    """Photo URLs or absolute paths from a string, a list of strings or a list of {url: ...} objects."""
    entries = value if isinstance(value, list) else [value]
    locations = []
    for entry in entries:
        if isinstance(entry, dict):
            entry = next((entry[key] for key in PHOTO_URL_KEYS if isinstance(entry.get(key), str)), None)
        if isinstance(entry, str) and entry.strip():
            locations.append(resolve_location(entry.strip(), base))
    return locations


def resolve_location(entry: str, base: str) -> str:
    """An http(s) URL as is; a path relative to the listing file's folder or URL."""
    if is_url(entry) or os.path.isabs(entry):
        return entry
    if is_url(base):
        return urljoin(base, entry)
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base)), entry))


def read_listings(
    source: str,
    id_field: str | None = None,
    price_field: str | None = None,
    images_field: str | None = None,
    extra_fields: tuple[str, ...] = (),
) -> list[Listing]:
    """Every record of the export at `source` (path or URL) as a `Listing`, in file order."""
    records = parse_records(read_text(source), source)
    id_name = detect_field(records, ID_FIELDS, id_field)
    price_name = detect_field(records, PRICE_FIELDS, price_field)
    photos_name = detect_field(records, PHOTO_FIELDS, images_field)
    listings, first_row_of_id = [], {}
    for row, record in enumerate(records):
        listing = _parse_record(row, record, id_name, price_name, photos_name, extra_fields, source)
        if listing.skip_reason is None:
            if listing.house_id in first_row_of_id:
                listing.problem = f"duplicate id (first seen in row {first_row_of_id[listing.house_id]})"
            else:
                first_row_of_id[listing.house_id] = row
        listings.append(listing)
    return listings


def _parse_record(row, record, id_name, price_name, photos_name, extra_fields, source) -> Listing:
    if not isinstance(record, dict):
        return Listing(row, f"row {row}", problem=f"not a JSON object ({type(record).__name__})")
    raw_id = record.get(id_name) if id_name else None
    if raw_id is None or str(raw_id).strip() == "":
        return Listing(row, f"row {row}", problem="no id")
    listing = Listing(row, str(raw_id).strip())
    listing.extra = {name: _as_float(record.get(name)) for name in extra_fields}
    listing.photos = photo_locations(record.get(photos_name), source) if photos_name else []
    if not listing.photos:
        listing.problem = "no photos"
    raw_price = record.get(price_name) if price_name else None
    if raw_price is None or raw_price == "":
        listing.price_problem = "no price"
    else:
        try:
            listing.price = parse_price(raw_price)
        except ValueError as error:
            listing.price_problem = str(error)
    return listing


def _as_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
