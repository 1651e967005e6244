"""Listing facts: the fields an export carries beside the photos (beds, baths, area, zip code, ...), named on the
command line as `--listing_fields bedrooms bathrooms area zipcode:category` and carried as typed dataset columns.

A field is `PATH` (the export's name, dotted for a nested field: `hdpData.homeInfo.livingArea`) with an optional
kind, `PATH:number` or `PATH:category`; its column is the last segment of the path (`livingArea`). A number is
stored as float32 (NaN when missing or unparseable), a category as a string (None when missing or unparseable).

Kind inference (a field given without a kind), over every record of the listing: a field whose name suggests an
identifier (a word such as zip, postal, postcode, code, id, mls, fips, parcel, phone, or a name ending in "code"),
or any of whose string values is a number with a leading zero ("02134"), is a category; otherwise a field whose
present values are all numbers (JSON numbers, or text such as "1,234 sqft", "3 bds", "$250") is a number, and any
other field (one value that is not a number is enough) is a category. A given kind always wins: `bedrooms:number`
keeps the field numeric and counts a stray "many" as unparseable.

Reading a value gives a `Fact`: the value, or why there is none ("missing": absent, null, empty or a placeholder such
as "N/A"; "unparseable": present but not a finite number for a number field, or not text or a number for a category
field). A fact never makes a house unusable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import DataError

NUMBER = "number"
CATEGORY = "category"
KINDS = (NUMBER, CATEGORY)
MISSING = "missing"
UNPARSEABLE = "unparseable"
# Columns the dataset (or the model inputs made from it) already has: a fact column may not take these names.
RESERVED_COLUMNS = ("id", "price", "label", "labels", "images", "pixel_values", "photo_mask")
IDENTIFIER_WORDS = frozenset(
    {"zip", "zipcode", "postal", "postcode", "code", "id", "zpid", "mls", "fips", "parcel", "apn", "phone", "uuid"}
)
PLACEHOLDERS = frozenset({"", "-", "--", "—", "n/a", "na", "null", "none", "nan", "unknown", "?"})
MAX_CATEGORY_LENGTH = 200
FLOAT32_MAX = 3.4028234663852886e38
_NUMBER_PATTERN = re.compile(
    r"^(?P<sign>[-+]?)\s*\$?\s*(?P<number>(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<exponent>[eE][-+]?[0-9]+)?\s*(?P<unit>(?:[^\W\d_]|[/+%])[^\d]*)?$"
)
_LEADING_ZERO = re.compile(r"^0[0-9]")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


class ListingFieldError(DataError):
    """A `--listing_fields` entry that cannot be used; the message names it."""


@dataclass(frozen=True)
class ListingField:
    """One listing fact: its path in the export and its kind ("number", "category", or None: inferred)."""

    path: str
    kind: str | None = None

    def __post_init__(self):
        if not isinstance(self.path, str) or not self.path.strip() or any(not part for part in self.path.split(".")):
            raise ListingFieldError(f"listing field {self.path!r}: empty path (or an empty segment in it)")
        if self.kind is not None and self.kind not in KINDS:
            raise ListingFieldError(
                f"listing field {self.path!r}: unknown kind {self.kind!r} (use {' or '.join(KINDS)}, or leave it out)"
            )

    @property
    def column(self) -> str:
        """The dataset column: the last segment of the path (`hdpData.homeInfo.livingArea` -> `livingArea`)."""
        return self.path.split(".")[-1]

    @property
    def spec(self) -> str:
        """The field as written on the command line (`PATH` or `PATH:KIND`)."""
        return self.path if self.kind is None else f"{self.path}:{self.kind}"

    @classmethod
    def parse(cls, spec: str) -> ListingField:
        """`PATH`, `PATH:number` or `PATH:category`; anything else is a `ListingFieldError` naming the spec."""
        if not isinstance(spec, str):
            raise ListingFieldError(f"listing field {spec!r}: expected text such as bedrooms or zipcode:category")
        path, colon, kind = spec.strip().rpartition(":")
        if not colon:
            return cls(spec.strip())
        return cls(path.strip(), kind.strip().lower() or "(empty)")

    def read(self, value) -> Fact:
        """The fact this field's `value` gives (the kind must be known)."""
        if self.kind == NUMBER:
            return read_number(value)
        if self.kind == CATEGORY:
            return read_category(value)
        raise ValueError(f"listing field {self.path!r} has no kind yet (infer it with infer_kinds)")


@dataclass(frozen=True)
class Fact:
    """A value read for one field of one house, or None with the reason ("missing" or "unparseable")."""

    value: float | str | None
    problem: str | None = None


def parse_listing_fields(specs: Iterable[str | ListingField]) -> list[ListingField]:
    """The fields of `--listing_fields`, in order; a bad spec, a column given twice or a column the dataset already
    has is a `ListingFieldError` naming the field."""
    fields, by_column = [], {}
    for spec in specs:
        field = spec if isinstance(spec, ListingField) else ListingField.parse(spec)
        if field.column in RESERVED_COLUMNS:
            raise ListingFieldError(
                f"listing field {field.spec!r}: its column {field.column!r} clashes with the dataset's own columns "
                f"({', '.join(RESERVED_COLUMNS)})"
            )
        if field.column in by_column:
            raise ListingFieldError(
                f"listing fields {by_column[field.column].spec!r} and {field.spec!r} both give the column "
                f"{field.column!r}"
            )
        by_column[field.column] = field
        fields.append(field)
    return fields


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in PLACEHOLDERS)


def number_of(value) -> float | None:
    """The number a value shows (possibly non-finite, or beyond float32), None if it shows none: a JSON number (not
    a boolean) or text of one, with thousands separators, a leading "$" and a trailing unit ("1,234 sqft", "3 bds")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower().lstrip("+-") in ("inf", "infinity"):
            return math.inf if not text.startswith("-") else -math.inf
        match = _NUMBER_PATTERN.match(text)
        if match is None:
            return None
        return float(f"{match.group('sign')}{match.group('number').replace(',', '')}{match.group('exponent') or ''}")
    return None


def read_number(value) -> Fact:
    """A finite float32-sized number, or why not."""
    if _is_missing(value) or (isinstance(value, float) and math.isnan(value)):
        return Fact(None, MISSING)
    number = number_of(value)
    if number is None or not math.isfinite(number) or abs(number) > FLOAT32_MAX:
        return Fact(None, UNPARSEABLE)
    return Fact(number)


def read_category(value) -> Fact:
    """A category as stripped text: text as is, a whole number as its decimal digits (85255 -> "85255", 85255.0 ->
    "85255"), another number as Python writes it, a boolean as "true"/"false"; or why not."""
    if _is_missing(value):
        return Fact(None, MISSING)
    if isinstance(value, bool):
        return Fact("true" if value else "false")
    if isinstance(value, float):
        if not math.isfinite(value):
            return Fact(None, UNPARSEABLE)
        value = int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, (int, float)):
        text = str(value) if isinstance(value, float) or abs(value) < 10**MAX_CATEGORY_LENGTH else None
    else:
        text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > MAX_CATEGORY_LENGTH:
        return Fact(None, UNPARSEABLE)
    return Fact(text)


def name_suggests_identifier(column: str) -> bool:
    """Whether a field's name reads like a code rather than a quantity (`zipcode`, `addressZipcode`, `postal_code`,
    `mlsId`, `countyFIPS`): one of its words is an identifier word, or it ends in "code"."""
    words = [word.lower() for word in _WORD.findall(column)]
    return any(word in IDENTIFIER_WORDS or word.endswith("code") for word in words)


def _has_leading_zero(value) -> bool:
    return isinstance(value, str) and bool(_LEADING_ZERO.match(value.strip().lstrip("+-$").strip()))


def infer_kind(field: ListingField, values: Iterable) -> str:
    """The field's kind: its own if given, else inferred from its name and every value of the listing (see the module
    docstring for the rule)."""
    if field.kind is not None:
        return field.kind
    if name_suggests_identifier(field.column):
        return CATEGORY
    for value in values:
        if _is_missing(value) or (isinstance(value, float) and math.isnan(value)):
            continue
        if _has_leading_zero(value) or number_of(value) is None:
            return CATEGORY
    return NUMBER


def infer_kinds(fields: Sequence[ListingField], records: Sequence, value_at) -> list[ListingField]:
    """`fields` with every kind known, inferred over `records` (dicts; others are ignored) where not given."""
    resolved = []
    for field in fields:
        values = (value_at(record, field.path) for record in records if isinstance(record, dict))
        resolved.append(ListingField(field.path, infer_kind(field, values)))
    return resolved


__all__ = [
    "CATEGORY",
    "KINDS",
    "MISSING",
    "NUMBER",
    "RESERVED_COLUMNS",
    "UNPARSEABLE",
    "Fact",
    "ListingField",
    "ListingFieldError",
    "infer_kind",
    "infer_kinds",
    "name_suggests_identifier",
    "parse_listing_fields",
    "read_category",
    "read_number",
]
