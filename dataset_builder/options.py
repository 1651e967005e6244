"""Every option of a house dataset build, declared once with its default and help text.

`DatasetOptions` is what the builder reads (`ZillowHousesConfig` is one), what the command line parses
(`zillow_vit.data.DatasetArguments` is one, through `HfArgumentParser`) and what the benchmarks take; the
fetching options are the `FetchSettings` fields that `PhotoStore` reads. A build is keyed on the listing's
content and on every option, so a changed option or listing builds again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from .facts import ListingField, parse_listing_fields
from .photos import FetchSettings


@dataclass
class DatasetOptions(FetchSettings):
    id_field: str | None = field(
        default=None, metadata={"help": "Field of the house id, dotted if nested (detected per record if not given)."}
    )
    price_field: str | None = field(
        default=None,
        metadata={"help": "Field of the price, dotted if nested, e.g. hdpData.homeInfo.price (detected if not given)."},
    )
    images_field: str | None = field(
        default=None, metadata={"help": "Field of the photo list, dotted if nested (detected if not given)."}
    )
    listing_fields: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Listing facts to carry as columns, named as in the export (dotted if nested; the column is the "
            "last segment), each PATH, PATH:number or PATH:category, e.g. bedrooms bathrooms area zipcode:category. "
            "A number is a float32 column (NaN when missing or unparseable; '1,234 sqft' and '3 bds' parse), a "
            "category a string column (None when missing). Without a kind: a category if the name suggests a code "
            "(zip, postal, postcode, ...code, id, mls, fips, parcel, phone) or a value has a leading zero ('02134'), "
            "else a number if every present value is one, else a category. A missing or unparseable fact never "
            "drops a house; the build report counts them per field."
        },
    )
    image_short_side: int = field(
        default=256, metadata={"help": "Photos are stored with at most this short side (px)."}
    )
    validation_fraction: float = field(default=0.1, metadata={"help": "Share of houses in the validation split."})
    test_fraction: float = field(default=0.1, metadata={"help": "Share of houses in the test split."})
    split_seed: int = field(
        default=42, metadata={"help": "Seed of the house-level split (and of the synthetic houses)."}
    )
    num_synthetic_houses: int = field(default=600, metadata={"help": "Houses drawn by the synthetic configuration."})
    synthetic_image_size: int = field(default=96, metadata={"help": "Side of the synthetic photos (px)."})
    local_photo_root: str | None = field(
        default=None,
        metadata={
            "help": "Folder a local listing's photo files may lie in (default: the listing's own folder). "
            "A listing fetched over http(s) never reads local files."
        },
    )
    photo_cache_dir: str | None = field(
        default=None, metadata={"help": "Cache of fetched and stored photos (default: beside the built datasets)."}
    )

    def __post_init__(self):
        if isinstance(self.listing_fields, (str, ListingField)):
            self.listing_fields = [self.listing_fields]
        self.listing_fields = [listing_field.spec for listing_field in parse_listing_fields(self.listing_fields)]

    def parsed_listing_fields(self) -> list[ListingField]:
        """`listing_fields` as `ListingField`s (kinds as given; None where inferred at build time)."""
        return parse_listing_fields(self.listing_fields)

    @classmethod
    def of(cls, values) -> DatasetOptions:
        """The options among the attributes of `values` (e.g. parsed arguments holding more fields)."""
        return cls(**{option.name: getattr(values, option.name) for option in fields(cls)})
