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
import os
from dataclasses import asdict, dataclass, replace

import datasets

from .listing import Listing, fingerprint, read_bytes, read_listings
from .locations import is_url
from .options import DatasetOptions
from .photos import PhotoStore, encode_jpeg
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


@dataclass
class CollectedHouse:
    house_id: str
    price: float
    photos: list  # stored photo paths, or JPEG bytes for synthetic houses
    extra: dict


class SyntheticSource:
    """The built-in houses, drawn from the options' seed."""

    location = SYNTHETIC

    def fingerprint(self, options: DatasetOptions) -> str:
        return SYNTHETIC  # the options say everything

    def collect(self, options: DatasetOptions, photo_cache_dir: str) -> tuple[list[CollectedHouse], BuildReport]:
        seed, count = options.split_seed, options.num_synthetic_houses
        report = BuildReport(source=f"synthetic (seed {seed}, {count} houses)")
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
            tuple(options.extra_fields),
            local_photo_root=options.local_photo_root,
            data=self.data,
        )

    def fingerprint(self, options: DatasetOptions) -> str:
        return fingerprint(self.data, self.listings(options))

    def collect(self, options: DatasetOptions, photo_cache_dir: str) -> tuple[list[CollectedHouse], BuildReport]:
        report = BuildReport(source=self.location)
        listings = self.listings(options)
        report.houses_read = len(listings)
        for listing in listings:
            for photo, reason in listing.refused_photos:
                report.fail_photo(listing.house_id, photo, reason)
            if listing.skip_reason:
                report.skip_house(listing.house_id, listing.skip_reason)
        usable = [listing for listing in listings if listing.skip_reason is None]
        store = PhotoStore(photo_cache_dir, options.image_short_side, options)
        results = store.prepare([photo for listing in usable for photo in listing.photos])
        report.photos_downloaded = sum(result.downloaded for result in results.values())
        houses = []
        for listing in usable:
            stored = []
            for photo in listing.photos:
                result = results[photo]
                if result.path:
                    stored.append(result.path)
                else:
                    report.fail_photo(listing.house_id, photo, result.error)
            if stored:
                houses.append(CollectedHouse(listing.house_id, listing.price, stored, listing.extra))
            else:
                failed = len(listing.photos) + len(listing.refused_photos)
                report.skip_house(listing.house_id, f"no usable photos ({failed} failed)")
        report.houses_kept = len(houses)
        report.photos_stored = sum(len(house.photos) for house in houses)
        return houses, report


def house_source(location: str) -> SyntheticSource | ListingSource:
    """The one place that tells the built-in synthetic houses from a listing export."""
    return SyntheticSource() if location == SYNTHETIC else ListingSource(location)


class ZillowHouses(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = ZillowHousesConfig
    BUILDER_CONFIGS = [ZillowHousesConfig(name="houses", description="Houses of a listing export and their photos.")]
    DEFAULT_CONFIG_NAME = "houses"
    VERSION = datasets.Version("1.1.0")

    def _info(self) -> datasets.DatasetInfo:
        features = {
            "id": datasets.Value("string"),
            "price": datasets.Value("float64"),
            "label": datasets.ClassLabel(names=list(TIER_NAMES)),
            "images": datasets.List(datasets.Image()),
        }
        features.update({name: datasets.Value("float64") for name in self.config.extra_fields})
        return datasets.DatasetInfo(description=self.config.description, features=datasets.Features(features))

    @property
    def build_report(self) -> BuildReport | None:
        return BuildReport.load(self.cache_dir) if BuildReport.exists(self.cache_dir) else None

    def _split_generators(self, dl_manager):
        config = self.config
        source = house_source(config.source)
        if source.fingerprint(config) != config.source_fingerprint:
            raise ValueError(f"{source.location} changed while the build started; run the build again.")
        photo_cache_dir = config.photo_cache_dir or os.path.join(self._cache_dir_root, "zillow_houses_photos")
        houses, report = source.collect(config, photo_cache_dir)
        if len(houses) < 3:
            logger.warning("%s", report.summary())
            raise ValueError(f"Only {len(houses)} usable houses in {report.source}; need at least 3 (report above).")
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
                    **house.extra,
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
    builder = ZillowHouses(
        cache_dir=cache_dir,
        source=houses.location,
        source_fingerprint=houses.fingerprint(options),
        **asdict(options),
    )
    builder.download_and_prepare(download_mode="force_redownload" if force_rebuild else None)
    return builder.as_dataset(), builder.build_report
