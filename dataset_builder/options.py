"""Every option of a house dataset build, declared once with its default and help text.

`DatasetOptions` is what the builder reads (`ZillowHousesConfig` is one), what the command line parses
(`zillow_vit.data.DatasetArguments` is one, through `HfArgumentParser`) and what the benchmarks take; the
fetching options are the `FetchSettings` fields that `PhotoStore` reads. A build is keyed on the listing's
content and on every option, so a changed option or listing builds again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

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
    extra_fields: list[str] = field(default_factory=list, metadata={"help": "Numeric listing fields to carry along."})
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

    @classmethod
    def of(cls, values) -> DatasetOptions:
        """The options among the attributes of `values` (e.g. parsed arguments holding more fields)."""
        return cls(**{option.name: getattr(values, option.name) for option in fields(cls)})
