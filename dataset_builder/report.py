"""What a build read, kept and skipped, and why: printed at the end and saved beside the data."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from .locations import redact
from .splits import TIER_NAMES, dollars


def tier_ranges(cut_points: list[float]) -> str:
    """'cheap < $312,333.33 <= average < $592,767 <= expensive'."""
    low, high = cut_points
    cheap, average, expensive = TIER_NAMES
    return f"{cheap} < {dollars(low)} <= {average} < {dollars(high)} <= {expensive}"


SUMMARY_LINES_PER_LIST = 20
REPORT_FILE = "build_report.json"
MAX_SHOWN_LOCATION = 300  # characters of a photo location kept in the report (a data: URI can be megabytes)


def _first(lines) -> list[str]:
    """At most `SUMMARY_LINES_PER_LIST` lines, then a pointer to the saved report for the rest."""
    lines = list(lines)
    if len(lines) <= SUMMARY_LINES_PER_LIST:
        return lines
    return lines[:SUMMARY_LINES_PER_LIST] + [f"  ... and {len(lines) - SUMMARY_LINES_PER_LIST} more in {REPORT_FILE}"]


def shortened(location: str) -> str:
    """`location` as the report shows it: whole up to `MAX_SHOWN_LOCATION` characters, else its start and length."""
    if len(location) <= MAX_SHOWN_LOCATION:
        return location
    return f"{location[: MAX_SHOWN_LOCATION - 40]}... ({len(location)} characters)"


@dataclass
class BuildReport:
    """What a build read, kept and skipped; saved as `build_report.json` in a dataset, export or run folder.

    Locations and reasons are redacted on the way in (user names, passwords and token-like query
    parameters of URLs), since the report travels with datasets and models.
    """

    FILE_NAME = REPORT_FILE

    source: str
    houses_read: int = 0
    houses_kept: int = 0
    skipped_houses: list[dict] = field(default_factory=list)
    photos_stored: int = 0
    photos_downloaded: int = 0
    failed_photos: list[dict] = field(default_factory=list)
    split_sizes: dict[str, int] = field(default_factory=dict)
    cut_points: list[float] = field(default_factory=list)
    # listing facts, in declaration order: column -> {"path", "kind" ("number"/"category"), "missing", "unparseable"}
    # counted over the kept houses
    listing_fields: dict[str, dict] = field(default_factory=dict)
    # photos were stored with at most this short side (px); None: as they came (synthetic photos)
    image_short_side: int | None = None

    def __post_init__(self):
        self.source = redact(self.source)

    def skip_house(self, house_id: str, reason: str) -> None:
        self.skipped_houses.append({"id": house_id, "reason": redact(reason)})

    def fail_photo(self, house_id: str, photo: str, reason: str) -> None:
        self.failed_photos.append({"id": house_id, "photo": shortened(redact(photo)), "reason": redact(reason)})

    def summary(self) -> str:
        lines = [
            f"Source: {self.source}",
            f"Houses: {self.houses_read} read, {self.houses_kept} kept, {len(self.skipped_houses)} skipped",
            f"Photos: {self.photos_stored} stored ({self.photos_downloaded} downloaded now), "
            f"{len(self.failed_photos)} failed"
            + (f", stored with a short side of at most {self.image_short_side} px" if self.image_short_side else ""),
            "Splits: " + ", ".join(f"{name} {size}" for name, size in self.split_sizes.items()),
        ]
        if self.cut_points:
            lines.append(f"Tercile cut points (train prices): {tier_ranges(self.cut_points)}")
        lines += [
            f"Listing fact {column} ({info['kind']}, from {info['path']}): {info['missing']} missing, "
            f"{info['unparseable']} unparseable"
            + (" (no kept house has it: check the path)" if 0 < self.houses_kept <= info["missing"] else "")
            for column, info in self.listing_fields.items()
        ]
        lines += _first(f"  skipped house {s['id']}: {s['reason']}" for s in self.skipped_houses)
        lines += _first(f"  dropped photo of house {f['id']} ({f['photo']}): {f['reason']}" for f in self.failed_photos)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def headline(self) -> str:
        """One line for a dataset description: houses kept of read, splits and cut points."""
        line = f"{self.houses_kept} of {self.houses_read} houses kept"
        if self.split_sizes:
            line += " (" + ", ".join(f"{name} {size}" for name, size in self.split_sizes.items()) + ")"
        if self.cut_points:
            line += f"; {tier_ranges(self.cut_points)}"
        return line

    def save(self, folder) -> str:
        """Write `build_report.json` into `folder`; returns its path."""
        path = os.path.join(folder, REPORT_FILE)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
        return path

    @classmethod
    def exists(cls, folder) -> bool:
        return os.path.isfile(os.path.join(folder, REPORT_FILE))

    @classmethod
    def load(cls, folder) -> "BuildReport":
        """The report saved in `folder` by `save`."""
        with open(os.path.join(folder, REPORT_FILE), encoding="utf-8") as handle:
            return cls(**json.load(handle))
