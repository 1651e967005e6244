"""Get the house dataset: build it from "synthetic" or a listing export, or load a saved one."""

import os
from dataclasses import dataclass, field

from datasets import DatasetDict, load_from_disk

from dataset_builder import BuildReport, DatasetOptions, build_house_dataset


@dataclass
class DatasetArguments(DatasetOptions):
    """Which houses to use, where builds are cached, and every build option (declared in `DatasetOptions`)."""

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
    force_rebuild: bool = field(
        default=False,
        metadata={"help": "Build again even if a build of the same listing content and options is cached."},
    )

    def load(self) -> tuple[DatasetDict, BuildReport]:
        """The dataset and its build report (which holds the tercile cut points)."""
        if is_saved_dataset(self.dataset):
            return load_from_disk(self.dataset), BuildReport.load(self.dataset)
        return build_house_dataset(
            self.dataset, self.dataset_cache_dir, self.force_rebuild, options=DatasetOptions.of(self)
        )


def is_saved_dataset(location: str) -> bool:
    return os.path.isfile(os.path.join(location, "dataset_dict.json"))
