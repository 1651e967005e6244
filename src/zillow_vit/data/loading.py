"""Get the house dataset: build it from "synthetic" or a listing export, or load a saved one."""

import os
from dataclasses import dataclass, field

from datasets import DatasetDict, load_from_disk

from dataset_builder import BuildReport, build_house_dataset


@dataclass
class DatasetArguments:
    """Which houses to use and how the dataset is built (shared by the build and train scripts)."""

    dataset: str = field(
        default="synthetic",
        metadata={
            "help": '"synthetic" (built in, offline), a listing export (JSON path or URL), or a saved dataset folder.',
            "aliases": ["--source"],
        },
    )
    dataset_cache_dir: str | None = field(
        default=None, metadata={"help": "Cache of built datasets and fetched photos."}
    )
    id_field: str | None = field(default=None, metadata={"help": "Field of the house id (detected if not given)."})
    price_field: str | None = field(default=None, metadata={"help": "Field of the price (detected if not given)."})
    images_field: str | None = field(
        default=None, metadata={"help": "Field of the photo list (detected if not given)."}
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

    def load(self) -> tuple[DatasetDict, BuildReport]:
        """The dataset and its build report (which holds the tercile cut points)."""
        if is_saved_dataset(self.dataset):
            return load_from_disk(self.dataset), BuildReport.load(self.dataset)
        common = {
            "validation_fraction": self.validation_fraction,
            "test_fraction": self.test_fraction,
            "seed": self.split_seed,
        }
        if self.dataset == "synthetic":
            specific = {"num_houses": self.num_synthetic_houses, "synthetic_image_size": self.synthetic_image_size}
        else:
            specific = {
                "id_field": self.id_field,
                "price_field": self.price_field,
                "images_field": self.images_field,
                "extra_fields": tuple(self.extra_fields),
                "image_short_side": self.image_short_side,
            }
        return build_house_dataset(self.dataset, cache_dir=self.dataset_cache_dir, **common, **specific)


def is_saved_dataset(location: str) -> bool:
    return os.path.isfile(os.path.join(location, "dataset_dict.json"))
