"""`ZillowHouses`: a `datasets.GeneratorBasedBuilder` from a listing export (or the synthetic set) to
house-level splits whose label is the price tercile.

`datasets` 5.x runs no loading scripts, so the builder is used directly; `build_house_dataset` does it::

    dataset, report = build_house_dataset("houses.json", cache_dir="cache", image_short_side=128)
    report.cut_points     # tercile cut points, from train prices only

A build is cached under a key of the listing's content (and its local photo files' sizes and times) and
of every option, so an edited listing or a changed option builds again; `force_rebuild` ignores the cache.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, replace

import datasets

from .errors import DataError
from .facts import CATEGORY, MISSING, NUMBER, UNPARSEABLE, ListingField
from .listing import FieldNames, Listing, fingerprint, read_bytes, read_listings, resolve_listing_fields
from .locations import is_url
from .options import DatasetOptions
from .photos import STORED_PHOTO_VERSION, PhotoStore, encode_jpeg
from .report import BuildReport
from .splits import TIER_NAMES, assign_splits, price_tier, refuse_degenerate, tercile_cut_points
from .synthetic import make_synthetic_houses

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SYNTHETIC = "synthetic"


@dataclass
class ZillowHousesConfig(datasets.BuilderConfig, DatasetOptions):
    """Where the houses come from (`source`: "synthetic", or a listing export's path or URL), the key of its
    content (`source_fingerprint`), and every `DatasetOptions` field."""

    source: str = SYNTHETIC
    source_fingerprint: str = ""

    def __post_init__(self):
        datasets.BuilderConfig.__post_init__(self)
        DatasetOptions.__post_init__(self)


@dataclass
class CollectedHouse:
    house_id: str
    price: float
    photos: list  # stored photo paths, or JPEG bytes for synthetic houses
    facts: dict  # column -> value (None: missing or unparseable)


class SyntheticSource:
    """The built-in houses, drawn from the options' seed."""

    location = SYNTHETIC

    def fingerprint(self, options: DatasetOptions) -> str:
        return SYNTHETIC  # the options say everything

    def resolve_fields(self, options: DatasetOptions) -> list[ListingField]:
        if options.listing_fields:
            raise DataError(
                f"the synthetic houses carry no listing facts (--listing_fields {' '.join(options.listing_fields)}); "
                "name a listing export"
            )
        return []

    def collect(self, options: DatasetOptions, photo_cache_dir: str) -> tuple[list[CollectedHouse], BuildReport]:
        seed, count = options.split_seed, options.num_synthetic_houses
        report = BuildReport(
            source=f"{SYNTHETIC} (seed {seed}, {count} houses)", image_short_side=options.synthetic_image_size
        )
        houses = [
            CollectedHouse(house.house_id, house.price, [encode_jpeg(photo) for photo in house.photos], {})
            for house in make_synthetic_houses(count, seed, options.synthetic_image_size)
        ]
        report.houses_read = report.houses_kept = len(houses)
        report.photos_stored = sum(len(house.photos) for house in houses)
        return houses, report


class ListingSource:
    """A listing export (local path or http(s) URL), read once per object."""

    def __init__(self, location: str):
        self.location = location if is_url(location) else os.path.abspath(location)
        self.data = read_bytes(self.location)

    def listings(self, options: DatasetOptions) -> list[Listing]:
        return read_listings(
            self.location,
            options.id_field,
            options.price_field,
            options.images_field,
            options.parsed_listing_fields(),
            local_photo_root=options.local_photo_root,
            photo_short_side=options.image_short_side,
            data=self.data,
        )

    def resolve_fields(self, options: DatasetOptions) -> list[ListingField]:
        """The options' listing fields with every kind known (inferred over this export where not given)."""
        names = FieldNames(options.id_field, options.price_field, options.images_field)
        return resolve_listing_fields(self.location, options.parsed_listing_fields(), self.data, names)

    def fingerprint(self, options: DatasetOptions) -> str:
        """The build's key of this export: its content, its local photos, and how photos are stored."""
        return f"{fingerprint(self.data, self.listings(options))}-photos-v{STORED_PHOTO_VERSION}"

    def collect(self, options: DatasetOptions, photo_cache_dir: str) -> tuple[list[CollectedHouse], BuildReport]:
        """The houses whose photos can be stored. A repeated id is a relisting: the house is its first record
        with a stored photo (a record is tried only when the ones before it have none), the others are skipped."""
        report = BuildReport(source=self.location, image_short_side=options.image_short_side)
        listings = self.listings(options)
        report.houses_read = len(listings)
        repeats = defaultdict(list)  # row of a house's first record -> its repeats, in file order
        for listing in listings:
            for photo, reason in listing.refused_photos:
                report.fail_photo(listing.house_id, photo, reason)
            if listing.repeat_of is not None:
                repeats[listing.repeat_of].append(listing)
            elif listing.skip_reason:
                report.skip_house(listing.house_id, listing.skip_reason)
        to_try = {listing.row: [listing, *repeats[listing.row]] for listing in listings if listing.skip_reason is None}
        store = PhotoStore(photo_cache_dir, options.image_short_side, options)
        kept = {}  # row of the house's first record -> (record kept, its stored photos)
        results, description = {}, "Fetching photos"  # a photo is fetched once, whichever records name it
        while to_try:
            batch = {row: records.pop(0) for row, records in to_try.items()}
            wanted = [photo for listing in batch.values() for photo in listing.photos if photo not in results]
            fetched = store.prepare(wanted, description)
            report.photos_downloaded += sum(result.downloaded for result in fetched.values())
            results.update(fetched)
            for row, listing in batch.items():
                stored = _stored_photos(listing, results, report)
                if stored:
                    kept[row] = (listing, stored)
                    for repeat in to_try[row]:
                        report.skip_house(repeat.house_id, repeat.problem)
                    continue
                failed = len(listing.photos) + len(listing.refused_photos)
                then = f"; trying its repeat in row {to_try[row][0].row}" if to_try[row] else ""
                report.skip_house(listing.house_id, f"no usable photos ({failed} failed){then}")
            to_try = {row: records for row, records in to_try.items() if row not in kept and records}
            description = "Fetching photos of repeated records"
        houses = [
            CollectedHouse(listing.house_id, listing.price, stored, listing.facts)
            for listing, stored in (kept[row] for row in sorted(kept))
        ]
        report.houses_kept = len(houses)
        report.photos_stored = sum(len(house.photos) for house in houses)
        report.listing_fields = count_fact_problems(
            options.parsed_listing_fields(), [listing for listing, _ in kept.values()]
        )
        return houses, report


def _stored_photos(listing: Listing, results: dict, report: BuildReport) -> list[str]:
    """The stored paths of `listing`'s photos in `results`, each failure reported."""
    stored = []
    for photo in listing.photos:
        result = results[photo]
        if result.path:
            stored.append(result.path)
        else:
            report.fail_photo(listing.house_id, photo, result.error)
    return stored


def count_fact_problems(listing_fields: list[ListingField], listings: list[Listing]) -> dict[str, dict]:
    """Per field, in order: column -> {path, kind, missing, unparseable} counted over `listings`."""
    return {
        field.column: {
            "path": field.path,
            "kind": field.kind,
            "missing": sum(listing.fact_problems.get(field.column) == MISSING for listing in listings),
            "unparseable": sum(listing.fact_problems.get(field.column) == UNPARSEABLE for listing in listings),
        }
        for field in listing_fields
    }


def fact_features(listing_fields: list[ListingField]) -> dict[str, datasets.Value]:
    """The column of each listing fact: a number as float32 (NaN when missing), a category as a string."""
    dtypes = {NUMBER: "float32", CATEGORY: "string"}
    return {field.column: datasets.Value(dtypes[field.kind]) for field in listing_fields}


def house_source(location: str) -> SyntheticSource | ListingSource:
    """The one place that tells the built-in synthetic houses from a listing export."""
    return SyntheticSource() if location == SYNTHETIC else ListingSource(location)


class ZillowHouses(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = ZillowHousesConfig
    BUILDER_CONFIGS = [ZillowHousesConfig(name="houses", description="Houses of a listing export and their photos.")]
    DEFAULT_CONFIG_NAME = "houses"
    VERSION = datasets.Version("1.3.0")  # 1.2: rentals skipped, transparency on white; 1.3: relistings

    def __init__(self, *args, read_source: SyntheticSource | ListingSource | None = None, **config_kwargs):
        """`read_source`: `config.source` already read (a listing URL is fetched once per build); else read here."""
        super().__init__(*args, **config_kwargs)
        self.read_source = read_source

    def _info(self) -> datasets.DatasetInfo:
        features = {
            "id": datasets.Value("string"),
            "price": datasets.Value("float64"),
            "label": datasets.ClassLabel(names=list(TIER_NAMES)),
            "images": datasets.List(datasets.Image()),
        }
        features.update(fact_features(self._listing_fields()))
        return datasets.DatasetInfo(description=self.config.description, features=datasets.Features(features))

    def _listing_fields(self) -> list[ListingField]:
        listing_fields = self.config.parsed_listing_fields()
        if any(field.kind is None for field in listing_fields):  # a builder made directly, kinds not resolved yet
            listing_fields = house_source(self.config.source).resolve_fields(self.config)
        return listing_fields

    @property
    def build_report(self) -> BuildReport | None:
        return BuildReport.load(self.cache_dir) if BuildReport.exists(self.cache_dir) else None

    def _split_generators(self, dl_manager):
        config = self.config
        source = self.read_source or house_source(config.source)
        if source.fingerprint(config) != config.source_fingerprint:
            raise DataError(f"{source.location} changed while the build started; run the build again.")
        photo_cache_dir = config.photo_cache_dir or os.path.join(self._cache_dir_root, "zillow_houses_photos")
        houses, report = source.collect(config, photo_cache_dir)
        if len(houses) < 3:
            logger.warning("%s", report.summary())
            raise DataError(f"Only {len(houses)} usable houses in {report.source}; need at least 3 (report above).")
        split_of = assign_splits(
            [house.price for house in houses], config.validation_fraction, config.test_fraction, config.split_seed
        )
        by_split = {name: [house for house, s in zip(houses, split_of) if s == name] for name in SPLITS}
        cut_points = tercile_cut_points([house.price for house in by_split["train"]])
        report.split_sizes = {name: len(members) for name, members in by_split.items()}
        report.cut_points = list(cut_points)
        fractions = {"validation": config.validation_fraction, "test": config.test_fraction}
        refuse_degenerate(
            {name: [h.price for h in members] for name, members in by_split.items()}, fractions, cut_points
        )
        report.save(self._output_dir)
        self.info.description = f"{config.description}\n\n{report.headline()}"
        return [
            datasets.SplitGenerator(name=name, gen_kwargs={"houses": members, "cut_points": cut_points})
            for name, members in by_split.items()
            if members  # `datasets` cannot read back an empty split (only one asked to be empty gets here)
        ]

    def _generate_examples(self, houses: list[CollectedHouse], cut_points):
        numbers = {field.column for field in self._listing_fields() if field.kind == NUMBER}
        for house in houses:
            yield (
                house.house_id,
                {
                    "id": house.house_id,
                    "price": house.price,
                    "label": price_tier(house.price, cut_points),
                    "images": [
                        {"bytes": _photo_bytes(photo), "path": f"{house.house_id}_{index}.jpg"}
                        for index, photo in enumerate(house.photos)
                    ],
                    **{
                        column: math.nan if value is None and column in numbers else value
                        for column, value in house.facts.items()
                    },
                },
            )


def _photo_bytes(photo) -> bytes:
    if isinstance(photo, bytes):
        return photo
    with open(photo, "rb") as handle:
        return handle.read()


def build_house_dataset(
    source: str = SYNTHETIC,
    cache_dir: str | None = None,
    force_rebuild: bool = False,
    options: DatasetOptions | None = None,
    **option_values,
) -> tuple[datasets.DatasetDict, BuildReport]:
    """Build (or reuse the cached build of) `source`: "synthetic", or a listing export's path or URL.

    `options` (default `DatasetOptions()`) with any `option_values` (`image_short_side=128`, ...) replaced.
    """
    options = replace(DatasetOptions.of(options or DatasetOptions()), **option_values)
    houses = house_source(source)
    # the kinds inferred over the export become part of the options (and so of the build's key and features)
    options = replace(options, listing_fields=[field.spec for field in houses.resolve_fields(options)])
    builder = ZillowHouses(
        cache_dir=cache_dir,
        source=houses.location,
        source_fingerprint=houses.fingerprint(options),
        read_source=houses,
        **asdict(options),
    )
    builder.download_and_prepare(download_mode="force_redownload" if force_rebuild else None)
    return builder.as_dataset(), builder.build_report
