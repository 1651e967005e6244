"""`ZillowHouses`: a `datasets.GeneratorBasedBuilder` from a listing export (or the synthetic set) to
house-level splits whose label is the price tercile.

`datasets` 5.x runs no loading scripts, so the builder is used directly::

    builder = ZillowHouses(config_name="listing", source="houses.json", cache_dir="cache")
    builder.download_and_prepare()
    dataset = builder.as_dataset()      # DatasetDict: train / validation / test
    builder.build_report.cut_points     # tercile cut points, from train prices only

`build_house_dataset` does the three steps and prints the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import datasets

from .listing import is_url, read_listings
from .photos import FetchSettings, PhotoStore, encode_jpeg
from .report import BuildReport
from .splits import TIER_NAMES, assign_splits, price_tier, tercile_cut_points
from .synthetic import make_synthetic_houses

SPLITS = ("train", "validation", "test")


@dataclass
class ZillowHousesConfig(datasets.BuilderConfig):
    """Where the houses come from and how they are stored and split.

    `source` is a path or http(s) URL of a listing export (config "listing"); the "synthetic" config
    draws `num_houses` houses instead. Field names are detected unless given. `extra_fields` are
    numeric listing fields carried along as float64 columns.
    """

    source: str | None = None
    id_field: str | None = None
    price_field: str | None = None
    images_field: str | None = None
    extra_fields: tuple[str, ...] = ()
    image_short_side: int = 256
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42
    photo_cache_dir: str | None = None
    fetch: FetchSettings = field(default_factory=FetchSettings)
    num_houses: int = 600
    synthetic_image_size: int = 96


@dataclass
class CollectedHouse:
    house_id: str
    price: float
    photos: list  # stored photo paths, or JPEG bytes for synthetic houses
    extra: dict


class ZillowHouses(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = ZillowHousesConfig
    BUILDER_CONFIGS = [
        ZillowHousesConfig(name="listing", description="Houses of a listing export (JSON) and their photos."),
        ZillowHousesConfig(name="synthetic", description="Procedurally drawn houses; needs no network."),
    ]
    DEFAULT_CONFIG_NAME = "synthetic"
    VERSION = datasets.Version("1.0.0")

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
        houses, report = self._collect_houses()
        if len(houses) < 3:
            raise ValueError(
                f"Only {len(houses)} usable houses in {report.source}; need at least 3.\n{report.summary()}"
            )
        split_of = assign_splits(
            [house.price for house in houses],
            self.config.validation_fraction,
            self.config.test_fraction,
            self.config.seed,
        )
        by_split = {name: [house for house, s in zip(houses, split_of) if s == name] for name in SPLITS}
        cut_points = tercile_cut_points([house.price for house in by_split["train"]])
        report.split_sizes = {name: len(members) for name, members in by_split.items()}
        report.cut_points = list(cut_points)
        report.save(self._output_dir)
        self.info.description = f"{self.config.description}\n\n{report.headline()}"
        return [
            datasets.SplitGenerator(name=name, gen_kwargs={"houses": members, "cut_points": cut_points})
            for name, members in by_split.items()
            if members  # `datasets` cannot read back an empty split
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

    def _collect_houses(self) -> tuple[list[CollectedHouse], BuildReport]:
        if self.config.name == "synthetic":
            return self._synthetic_houses()
        if not self.config.source:
            raise ValueError('The "listing" configuration needs `source`: a path or URL of a listing export.')
        return self._listing_houses()

    def _synthetic_houses(self) -> tuple[list[CollectedHouse], BuildReport]:
        config = self.config
        report = BuildReport(source=f"synthetic (seed {config.seed}, {config.num_houses} houses)")
        houses = [
            CollectedHouse(house.house_id, house.price, [encode_jpeg(photo) for photo in house.photos], {})
            for house in make_synthetic_houses(config.num_houses, config.seed, config.synthetic_image_size)
        ]
        report.houses_read = report.houses_kept = len(houses)
        report.photos_stored = sum(len(house.photos) for house in houses)
        return houses, report

    def _listing_houses(self) -> tuple[list[CollectedHouse], BuildReport]:
        config = self.config
        report = BuildReport(source=config.source)
        listings = read_listings(
            config.source, config.id_field, config.price_field, config.images_field, config.extra_fields
        )
        report.houses_read = len(listings)
        for listing in listings:
            if listing.skip_reason:
                report.skip_house(listing.house_id, listing.skip_reason)
        usable = [listing for listing in listings if listing.skip_reason is None]
        cache_dir = config.photo_cache_dir or os.path.join(self._cache_dir_root, "zillow_houses_photos")
        store = PhotoStore(cache_dir, config.image_short_side, config.fetch)
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
                report.skip_house(listing.house_id, f"no usable photos ({len(listing.photos)} failed)")
        report.houses_kept = len(houses)
        report.photos_stored = sum(len(house.photos) for house in houses)
        return houses, report


def _photo_bytes(photo) -> bytes:
    if isinstance(photo, bytes):
        return photo
    with open(photo, "rb") as handle:
        return handle.read()


def build_house_dataset(
    source: str = "synthetic", cache_dir: str | None = None, download_mode: str | None = None, **config
) -> tuple[datasets.DatasetDict, BuildReport]:
    """Build (or reuse the cached build of) `source`: "synthetic", or a listing export's path or URL."""
    if source == "synthetic":
        builder = ZillowHouses(config_name="synthetic", cache_dir=cache_dir, **config)
    else:
        location = source if is_url(source) else os.path.abspath(source)
        builder = ZillowHouses(config_name="listing", cache_dir=cache_dir, source=location, **config)
    builder.download_and_prepare(download_mode=download_mode)
    return builder.as_dataset(), builder.build_report
