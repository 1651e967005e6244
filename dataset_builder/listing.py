"""Read a listing export into `Listing`s: a JSON array, JSON Lines, one house's object, or a JSON object holding
the house arrays anywhere inside (Zillow's search results keep them in `cat1.searchResults.listResults` and
`mapResults`).

Real exports name their fields differently, so each record's id, price and photos are found among
common names (dotted paths reach nested fields, e.g. `hdpData.homeInfo.price`) unless named explicitly.
Records are parsed strictly but never fatally: a record that cannot be used becomes a `Listing` with a
`problem` (no id, no photos, duplicate id, not an object) or a `price_problem` (no price, unparseable
price), so the build can skip it and report why; a caller that needs no price (prediction) uses every
listing whose `problem` is None. Listing facts (`ListingField`s, see `dataset_builder.facts`) are read into
`Listing.facts` with `Listing.fact_problems` saying which are missing or unparseable; a fact never makes a
listing unusable. Text is read as UTF-8, or UTF-16/32 (recognised by a byte-order mark
or by the zero bytes of JSON text, as `json.loads` does); any other encoding is an error naming the file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

from .errors import DataError
from .facts import ListingField, infer_kinds, parse_listing_fields
from .locations import LocalReadError, is_inside, is_url, read_regular_file, redact, url_scheme

ID_FIELDS = ("id", "zpid", "listing_id", "listingId", "hdpData.homeInfo.zpid")
PRICE_FIELDS = (
    "price",
    "unformattedPrice",
    "hdpData.homeInfo.price",
    "listPrice",
    "list_price",
    "listingPrice",
    "home_price",
    "homePrice",
    "askingPrice",
    "asking_price",
)
PHOTO_FIELDS = (
    "images",
    "photos",
    "image_urls",
    "imageUrls",
    "photo_urls",
    "photoUrls",
    "carouselPhotosComposable",
    "carouselPhotos",
    "imgSrc",
    "image",
    "image_url",
)
PHOTO_URL_KEYS = ("url", "src", "href", "path")
PHOTO_ASPECT = 1.5  # width / height assumed of a photo offered in several widths (listing photos are about 3:2)
MAX_LISTING_BYTES = 256 * 1024 * 1024
LISTING_DEADLINE = 600.0  # seconds a listing URL may take in all; a server dripping bytes fails then
MAX_ID_LENGTH = 128
MAX_PRICE_DIGITS = 15  # a price of 10^15 dollars or more is a mistake, not a house
MAX_SEARCH_DEPTH = 6
# arrays a house's own page lists other houses under (Zillow's nearbyHomes, comps, similar listings)
NEIGHBOUR_KEYS = re.compile(r"nearby|neighbo|similar|comparable|comps|recommend|related", re.IGNORECASE)
_SUFFIX_MULTIPLIERS = {"k": 1e3, "m": 1e6, "b": 1e9}
_PRICE_PATTERN = re.compile(
    r"^\$?\s*(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<fraction>[0-9]+))?\s*(?P<suffix>[kmb]?)\+?$",
    re.IGNORECASE | re.ASCII,
)
_RENT_PERIOD = re.compile(r"(/|\bper\b|\ba\b)\s*(mo|month|wk|week|yr|year|day|night)\b", re.IGNORECASE)
_FOR_RENT = re.compile(r"\s*(for[_ -]?(rent|lease)|rental|leased?)\s*", re.IGNORECASE)  # a whole status value
STATUS_FIELDS = ("statusType", "homeStatus", "hdpData.homeInfo.homeStatus", "listingStatus", "status")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_KIND_NAMES = {"id": "an id", "price": "a price", "images": "a photo"}


class ListingFormatError(DataError):
    """The listing file itself cannot be used (unreadable, malformed JSON, no houses, a field in no record)."""


@dataclass
class Listing:
    """One house of the export; `problem` says why it cannot be used at all, `price_problem` why it has no price."""

    row: int
    house_id: str
    price: float | None = None
    photos: list[str] = field(default_factory=list)
    refused_photos: list[tuple[str, str]] = field(default_factory=list)  # (photo, reason) never fetched
    facts: dict[str, float | str | None] = field(default_factory=dict)  # column -> value (None: none usable)
    fact_problems: dict[str, str] = field(default_factory=dict)  # column -> "missing" or "unparseable"
    problem: str | None = None
    price_problem: str | None = None
    repeat_of: int | None = None  # the row of the first record of this id, when this record repeats it

    @property
    def skip_reason(self) -> str | None:
        """Why a build (which needs the price) skips this house, if it does."""
        return self.problem or self.price_problem


@dataclass
class FieldNames:
    """The field path (dotted for nested fields) of each kind, or None to try the common names in turn."""

    id_field: str | None = None
    price_field: str | None = None
    images_field: str | None = None

    def candidates(self, kind: str) -> tuple[str, ...]:
        explicit = getattr(self, f"{kind}_field")
        return (explicit,) if explicit else {"id": ID_FIELDS, "price": PRICE_FIELDS, "images": PHOTO_FIELDS}[kind]


def read_bytes(
    location: str, timeout: float = 30.0, max_bytes: int = MAX_LISTING_BYTES, deadline: float = LISTING_DEADLINE
) -> bytes:
    """The bytes of a local listing file or an http(s) URL (capped; `timeout` per network read, `deadline` for the
    whole download); unreadable is a `ListingFormatError`."""
    if not is_url(location):
        try:
            return read_regular_file(location, max_bytes)
        except LocalReadError as error:
            raise ListingFormatError(f"{location}: {error}") from error
    outcome = {}

    def download():
        try:
            outcome["data"] = _download(location, timeout, max_bytes)
        except Exception as error:
            outcome["error"] = error

    # a daemon thread, left behind at the deadline: a server dripping headers or body cannot hold the build
    worker = threading.Thread(target=download, daemon=True, name=f"listing download {redact(location)}")
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise ListingFormatError(f"{redact(location)}: not received within {deadline:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["data"]


def _download(url: str, timeout: float, max_bytes: int) -> bytes:
    try:
        with requests.get(url, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise ListingFormatError(f"{redact(url)}: HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_content(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ListingFormatError(f"{redact(url)}: larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except requests.RequestException as error:
        raise ListingFormatError(f"{redact(url)}: cannot fetch ({type(error).__name__})") from error


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (with or without a byte-order mark) or UTF-16/32; anything else is an error naming the file."""
    try:
        return data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as error:
        raise ListingFormatError(
            f"{redact(source)}: not UTF-8 (or UTF-16/32) text: byte 0x{data[error.start]:02x} at offset "
            f"{error.start}; save the export as UTF-8"
        ) from error


def read_text(location: str, timeout: float = 30.0) -> str:
    """Text of a local file or an http(s) URL."""
    return decode_text(read_bytes(location, timeout), location)


def _parse_int(text: str):
    """JSON integers as ints, except digit strings too long to be a price or an id: kept as text, so they
    fail as a record's problem instead of as Python's integer-size limit."""
    return int(text) if len(text) <= 64 else text


def _loads(text: str):
    return json.loads(text, parse_int=_parse_int)


def parse_document(text: str, source: str):
    """The JSON document, or JSON Lines as a list of records; malformed is an error naming file, line and column."""
    try:
        return _loads(text)
    except json.JSONDecodeError as error:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{") and error.msg == "Extra data":
            return _parse_json_lines(text, source)
        raise ListingFormatError(
            f"{redact(source)}: malformed JSON at line {error.lineno}, column {error.colno} (char {error.pos}): "
            f"{error.msg}"
        ) from error
    except RecursionError as error:
        raise ListingFormatError(f"{redact(source)}: JSON nested too deeply") from error


def _parse_json_lines(text: str, source: str) -> list:
    records = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(_loads(line))
        except json.JSONDecodeError as error:
            raise ListingFormatError(
                f"{redact(source)}: malformed JSON Lines at line {line_number}, column {error.colno}: {error.msg}"
            ) from error
        except RecursionError as error:
            raise ListingFormatError(f"{redact(source)}: JSON nested too deeply at line {line_number}") from error
    return records


def value_at(record: dict, path: str):
    """The value of a field given by name or by dotted path (`hdpData.homeInfo.price`), None if absent."""
    if path in record:
        return record[path]
    value = record
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _has(record, path: str) -> bool:
    return isinstance(record, dict) and value_at(record, path) not in (None, "", [], {})


def house_records(document, source: str, names: FieldNames) -> list:
    """The house records of a document: a top-level array as is; a lone house as a list of one (an object with a
    field of each of the three kinds, id, price and photos, even if it holds arrays of other houses, such as a detail
    page's neighbours; or with two kinds and no array of objects showing any outside keys naming neighbours, such as
    an unpriced detail page's `nearbyHomes`); inside an object, every array of objects that shows the most of the
    three kinds, in document order, or else its only array of objects."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise ListingFormatError(f"{redact(source)}: expected houses, got {_json_type(document)}")
    own = sum(any(value_at(document, path) is not None for path in names.candidates(kind)) for kind in _KIND_NAMES)
    scored = [
        (score, array)
        for path, score, array in _scored_arrays(document, names, MAX_SEARCH_DEPTH)
        if own < 2 or not NEIGHBOUR_KEYS.search(path)
    ]
    best = max((score for score, _ in scored), default=0)
    if own == len(_KIND_NAMES) or (own >= 2 and best == 0):
        return [document]
    if best == 0:  # no known field anywhere: the one array of objects, if it is one, with fields to name
        arrays = list(_object_arrays(document, MAX_SEARCH_DEPTH))
        if len(arrays) == 1:
            return arrays[0]
        raise ListingFormatError(
            f"{redact(source)}: no array of houses found (objects with an id, price or photo field); "
            f"top-level keys: {sorted(document)[:20]}"
        )
    return [record for score, array in scored if score == best for record in array]


def _scored_arrays(node, names: FieldNames, depth: int, path: str = ""):
    """(dotted path of keys it sits under, kinds of field shown, array) for the arrays of objects inside `node`; an
    array showing none is searched further (it may hold pages of houses), one showing some is not (it holds houses)."""
    if depth < 0:
        return
    entries = (
        ((f"{path}.{key}", value) for key, value in node.items())
        if isinstance(node, dict)
        else ((path, item) for item in node)
    )
    for where, value in entries:
        score = _kinds_shown(value, names) if isinstance(value, list) else 0
        if score:
            yield where, score, value
        elif isinstance(value, (dict, list)):
            yield from _scored_arrays(value, names, depth - 1, where)


def _object_arrays(node, depth: int):
    """Arrays holding objects, searched through objects only."""
    for value in node.values() if depth >= 0 else ():
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):
            yield value
        elif isinstance(value, dict):
            yield from _object_arrays(value, depth - 1)


def _kinds_shown(array: list, names: FieldNames) -> int:
    sample = [record for record in array[:200] if isinstance(record, dict)]
    return sum(
        any(_has(record, path) for record in sample for path in names.candidates(kind))
        for kind in ("id", "price", "images")
    )


def require_fields(records: list, source: str, names: FieldNames, kinds: tuple[str, ...]) -> None:
    """An error naming the fields that exist and the flag to pass when no record has a field of a kind."""
    for kind in kinds:
        candidates = names.candidates(kind)
        if any(
            isinstance(record, dict) and value_at(record, path) is not None for record in records for path in candidates
        ):
            continue
        present = sorted({path for record in records[:1000] if isinstance(record, dict) for path in _paths(record)})
        raise ListingFormatError(
            f"{redact(source)}: no record has {_KIND_NAMES[kind]} field (looked for {', '.join(candidates)}); the records "
            f"have: {', '.join(present[:40]) or 'no fields'}. Name it with --{kind}_field (a dotted path for a "
            "nested field, e.g. hdpData.homeInfo.price)."
        )


def _paths(record: dict, prefix: str = "", depth: int = 3):
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and depth > 1:
            yield from _paths(value, f"{path}.", depth - 1)
        else:
            yield path


def parse_price(value) -> float:
    """A positive price from a number or a well-formed amount: ASCII digits, thousands in groups of three,
    at most one leading "$", an optional K/M/B suffix and "+" (`"$1,599,900"`, `"850K"`, `"$1.2M"`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"unparseable price ({_json_type(value)})")
    if isinstance(value, str):
        match = _PRICE_PATTERN.match(value.strip())
        whole = match.group("whole").replace(",", "") if match else ""
        if not match or len(whole) > MAX_PRICE_DIGITS or len(match.group("fraction") or "") > 6:
            raise ValueError(f"unparseable price {_shown(value)}")
        price = float(f"{whole}.{match.group('fraction') or 0}") * _SUFFIX_MULTIPLIERS.get(
            match.group("suffix").lower(), 1.0
        )
    elif isinstance(value, int) and abs(value) >= 10**MAX_PRICE_DIGITS:
        raise ValueError(f"unparseable price {_shown(value)}")
    else:
        price = float(value)
    if not math.isfinite(price) or price <= 0 or price >= 10.0**MAX_PRICE_DIGITS:
        raise ValueError(f"unparseable price {_shown(value)} (must be a positive number)")
    return price


def parse_id(value) -> str:
    """A house id from a string or a whole number; anything else is a `ValueError` saying why."""
    if isinstance(value, float) and value.is_integer():
        if abs(value) >= 2**53:  # 1e20: its digits past the 16th were lost when the export wrote it
            raise ValueError(f"bad id ({value:g}, a number too large to be exact; write ids as strings)")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"bad id ({_json_type(value)})")
    if isinstance(value, int) and abs(value) >= 10**MAX_ID_LENGTH:
        raise ValueError(f"bad id (longer than {MAX_ID_LENGTH} characters)")
    text = str(value).strip()
    if not text:
        raise ValueError("no id")
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(f"bad id (longer than {MAX_ID_LENGTH} characters)")
    if any(unicodedata.category(character)[0] in "CZ" and character != " " for character in text):
        raise ValueError("bad id (control or separator characters)")
    return text


def _json_type(value) -> str:
    names = {bool: "a boolean", dict: "an object", list: "an array", type(None): "null", float: "a fraction"}
    return names.get(type(value), type(value).__name__)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def photo_entries(value, min_width: float = math.inf) -> list[str]:
    """Photo locations as written: a string, a list of strings or of {url|src|href|path: ...} objects, of
    Zillow detail pages' {"mixedSources": {"jpeg": [{"url", "width"}, ...]}} objects (of which the smallest size at
    least `min_width` wide, else the widest), or Zillow's {"baseUrl": ".../{photoKey}.jpg", "photoData": [{"photoKey":
    ...}, ...]}."""
    if isinstance(value, dict) and isinstance(value.get("baseUrl"), str) and isinstance(value.get("photoData"), list):
        return [_fill_placeholders(value["baseUrl"], item) for item in value["photoData"] if isinstance(item, dict)]
    entries = value if isinstance(value, list) else [value]
    locations = []
    for entry in entries:
        if isinstance(entry, dict):
            entry = next((entry[key] for key in PHOTO_URL_KEYS if isinstance(entry.get(key), str)), None) or (
                _mixed_source(entry.get("mixedSources"), min_width)
            )
        if isinstance(entry, str) and entry.strip():
            locations.append(entry.strip())
    return locations


def _mixed_source(sources, min_width: float) -> str | None:
    """Of a photo's sizes ({"jpeg": [{"url", "width"}, ...], "webp": [...]}), the smallest JPEG at least `min_width`
    wide, else the smallest such WebP, else the widest JPEG (else WebP): enough for the stored short side, not the
    full-size download. A width may be a number or its digits; an unknown one counts as 0."""
    if not isinstance(sources, dict):
        return None
    sizes = {kind: _sizes(sources.get(kind)) for kind in ("jpeg", "webp")}
    for kind in ("jpeg", "webp"):
        wide = [size for size in sizes[kind] if size[0] >= min_width]
        if wide:
            return min(wide, key=lambda size: size[0])[1]
    for kind in ("jpeg", "webp"):
        if sizes[kind]:
            return max(sizes[kind], key=lambda size: size[0])[1]
    return None


def _sizes(entries) -> list[tuple[float, str]]:
    """(width, url) of each entry of a `mixedSources` list that has a URL."""
    sizes = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            width = entry.get("width")
            if isinstance(width, str):
                try:
                    width = float(width)
                except ValueError:
                    width = 0
            valid = isinstance(width, (int, float)) and not isinstance(width, bool) and math.isfinite(float(width))
            sizes.append((width if valid else 0, entry["url"]))
    return sizes


def _fill_placeholders(template: str, values: dict) -> str:
    return _PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), match.group(0))), template)


@dataclass
class PhotoPolicy:
    """Where the photos of a listing may come from: a remote listing's photos are http(s) URLs only (relative
    ones resolved against its URL); a local listing's may also be local files inside `local_root` (default:
    the listing's own folder). `short_side`: the short side the photos will be read at (None: as large as offered)."""

    source: str
    local_root: str | None = None
    short_side: int | None = None

    @property
    def min_width(self) -> float:
        """The width of a photo offered in several sizes that keeps `short_side`."""
        return PHOTO_ASPECT * self.short_side if self.short_side else math.inf

    def resolve(self, entry: str) -> str:
        """The location to fetch for a photo entry; a `ValueError` saying why it is refused."""
        if _PLACEHOLDER.search(entry):
            raise ValueError("unfilled placeholder in photo URL")
        scheme = url_scheme(entry)
        if scheme is not None and not is_url(entry):
            raise ValueError(f"unsupported scheme {scheme!r}")
        if is_url(entry):
            return entry
        if entry.startswith("//") and not is_url(self.source):  # protocol-relative: the web's, not the disk's
            return f"https:{entry}"
        if is_url(self.source):
            try:
                location = urljoin(self.source, entry)
            except ValueError as error:
                raise ValueError("malformed URL") from error
            if not is_url(location):
                raise ValueError("not an http(s) URL")
            return location
        folder = os.path.dirname(os.path.abspath(self.source))
        path = os.path.normpath(os.path.join(folder, entry))
        if "\x00" in path or not is_inside(path, self.local_root or folder):
            raise ValueError(
                "local path outside the allowed folder (the export's or --local_photo_root's, links resolved)"
            )
        return path


def listing_records(source: str, data: bytes | None = None, names: FieldNames | None = None) -> list:
    """The house records of the export at `source` (its bytes `data`, when already read), unparsed."""
    if data is None:
        data = read_bytes(source)
    return house_records(parse_document(decode_text(data, source), source), source, names or FieldNames())


def resolve_listing_fields(
    source: str,
    listing_fields: Sequence[ListingField | str],
    data: bytes | None = None,
    names: FieldNames | None = None,
) -> list[ListingField]:
    """`listing_fields` with every kind known: given kinds kept, the others inferred over every record of the export
    (`dataset_builder.facts` states the rule)."""
    listing_fields = parse_listing_fields(listing_fields)
    if all(listing_field.kind is not None for listing_field in listing_fields):
        return listing_fields
    return infer_kinds(listing_fields, listing_records(source, data, names), value_at)


def read_listings(
    source: str,
    id_field: str | None = None,
    price_field: str | None = None,
    images_field: str | None = None,
    listing_fields: Sequence[ListingField | str] = (),
    *,
    require_price: bool = True,
    local_photo_root: str | None = None,
    photo_short_side: int | None = None,
    data: bytes | None = None,
) -> list[Listing]:
    """Every house record of the export at `source` (path or URL) as a `Listing`, in file order.

    With `require_price=False` (prediction) an export without any price field is fine, and a repeated id is a
    duplicate of any earlier house it could score, priced or not (a build repeats only houses it keeps).
    `local_photo_root` widens where a local listing's photo files may lie. Of a photo offered in several sizes, the
    smallest that keeps `photo_short_side` (None: the largest) is read. `data` are the file's bytes when read.
    `listing_fields` are the facts each listing carries (`Listing.facts`, keyed by column, and
    `Listing.fact_problems`); a field without a kind gets the kind inferred over this export's records.
    """
    if data is None:
        data = read_bytes(source)
    names = FieldNames(id_field, price_field, images_field)
    records = listing_records(source, data, names)
    if not records:
        raise ListingFormatError(f"{redact(source)}: no houses (an empty array)")
    require_fields(records, source, names, ("id", "images", "price") if require_price else ("id", "images"))
    listing_fields = infer_kinds(parse_listing_fields(listing_fields), records, value_at)
    policy = PhotoPolicy(source, local_photo_root, photo_short_side)
    listings, first_row_of_id = [], {}
    for row, record in enumerate(records):
        listing = parse_record(row, record, names, listing_fields, policy)
        if (listing.skip_reason if require_price else listing.problem) is None:
            if listing.house_id in first_row_of_id:
                listing.repeat_of = first_row_of_id[listing.house_id]
                listing.problem = f"duplicate id (first seen in row {listing.repeat_of})"
            else:
                first_row_of_id[listing.house_id] = row
        listings.append(listing)
    return listings


def parse_record(
    row: int, record, names: FieldNames, listing_fields: Sequence[ListingField], policy: PhotoPolicy
) -> Listing:
    """One record as a `Listing`: the first id, price and photo field of the record that can be used, and its facts
    (`listing_fields`, kinds known); a missing or unparseable fact is recorded, never a problem of the house."""
    if not isinstance(record, dict):
        return Listing(row, f"row {row}", problem=f"not a JSON object ({_json_type(record)})")
    present_ids = [value_at(record, path) for path in names.candidates("id") if _has(record, path)]
    if not present_ids:
        return Listing(row, f"row {row}", problem="no id")
    try:
        listing = Listing(row, parse_id(present_ids[0]))
    except ValueError as error:
        return Listing(row, f"row {row}", problem=str(error))
    read_facts(listing, record, listing_fields)
    _read_photos(listing, record, names, policy)
    _read_price(listing, record, names)
    return listing


def _read_photos(listing: Listing, record: dict, names: FieldNames, policy: PhotoPolicy) -> None:
    entries = next(
        (
            found
            for path in names.candidates("images")
            if (found := photo_entries(value_at(record, path), policy.min_width))
        ),
        [],
    )
    for entry in entries:
        try:
            location = policy.resolve(entry)
        except ValueError as error:
            listing.refused_photos.append((entry, str(error)))
            continue
        if location not in listing.photos:
            listing.photos.append(location)
    if not listing.photos:
        listing.problem = (
            f"no usable photos ({len(listing.refused_photos)} refused)" if entries else _no_photos(record, names)
        )


def _no_photos(record: dict, names: FieldNames) -> str:
    """ "no photos", or, when a photo field holds something, the shape it holds that is not read as photos."""
    for path in names.candidates("images"):
        value = value_at(record, path)
        if value in (None, "", [], {}):
            continue
        items = value if isinstance(value, list) else [value]
        keys = sorted({key for item in items if isinstance(item, dict) for key in item})
        shape = f"objects with keys {', '.join(keys)}" if keys else f"entries like {_shown(items[0])}"
        return f"no photos in a shape it reads ({path}: {shape}); name the field with the URLs in --images_field"
    return "no photos"


def _read_price(listing: Listing, record: dict, names: FieldNames) -> None:
    """The first price field that parses, unless the house is for rent: a monthly rent is no sale price, and
    another field of the same record (Zillow's `unformattedPrice`) would hold that rent as a bare number."""
    status = next(
        (v for path in STATUS_FIELDS if isinstance(v := value_at(record, path), str) and _FOR_RENT.fullmatch(v)), None
    )
    present = [value_at(record, path) for path in names.candidates("price") if _has(record, path)]
    rent = next((value for value in present if isinstance(value, str) and _RENT_PERIOD.search(value)), None)
    if status or rent:
        listing.price_problem = f"for rent, not for sale ({_shown(status or rent)})"
        return
    problems = []
    for value in present:
        try:
            listing.price = parse_price(value)
            return
        except ValueError as error:
            problems.append(str(error))
    listing.price_problem = problems[0] if problems else "no price"


def read_facts(listing: Listing, record: dict, listing_fields: Sequence[ListingField]) -> None:
    """The listing's facts, keyed by column, and for each one without a value why ("missing" or "unparseable")."""
    for listing_field in listing_fields:
        fact = listing_field.read(value_at(record, listing_field.path))
        listing.facts[listing_field.column] = fact.value
        if fact.problem:
            listing.fact_problems[listing_field.column] = fact.problem


def fingerprint(data: bytes, listings: list[Listing]) -> str:
    """A key of a listing's content and of the size and modification time of its local photo files."""
    digest = hashlib.sha256(data)
    for listing in listings:
        for photo in listing.photos:
            if not is_url(photo):
                try:
                    info = os.stat(photo)
                    digest.update(f"{photo}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
                except OSError:
                    digest.update(f"{photo}\0missing\0".encode())
    return digest.hexdigest()
