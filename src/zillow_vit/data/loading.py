"""Get the house dataset: build it from "synthetic" or a listing export, or load a saved one: a `save_to_disk`
folder, an export folder (`build_dataset.py --export`: Parquet + card + build report) or a Hub dataset repo."""

import os
from dataclasses import dataclass, field, fields

from datasets import DatasetDict, DownloadMode, load_dataset, load_from_disk
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from dataset_builder import BuildReport, DataError, DatasetOptions, build_house_dataset
from dataset_builder.locations import is_url

from ..checkpoints import CACHE_FIELDS, FETCH_FIELDS
from ..cli import is_remote


@dataclass
class DatasetArguments(DatasetOptions):
    """Which houses to use, where builds are cached, and every build option (declared in `DatasetOptions`)."""

    dataset: str = field(
        default="synthetic",
        metadata={
            "help": '"synthetic" (built in, offline), a listing export (JSON path or URL), a saved or exported dataset '
            "folder, or a Hub dataset repo (user/name) written by build_dataset.py.",
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
        """The dataset and its build report (which holds the tercile cut points). A build option given for a
        dataset built already is a `DataError`: it would be silently ignored."""
        saved = is_saved_dataset(self.dataset)
        shared = is_exported_dataset(self.dataset) or is_remote(self.dataset) and not is_url(self.dataset)
        if saved or shared:
            given = [name for name in BUILD_SHAPING if getattr(self, name) != getattr(DatasetOptions(), name)]
            if given:
                raise DataError(f"--{given[0]}: {self.dataset} is a dataset built already; build options shape a build")
        if saved:
            return load_from_disk(self.dataset), BuildReport.load(self.dataset)
        if shared:
            return load_shared_dataset(self.dataset, self.dataset_cache_dir)
        return build_house_dataset(
            self.dataset, self.dataset_cache_dir, self.force_rebuild, options=DatasetOptions.of(self)
        )


# what shapes a build: what a run records of it (`run_arguments`), not where builds are cached nor how photos are fetched
BUILD_SHAPING = tuple(
    option.name for option in fields(DatasetOptions) if option.name not in CACHE_FIELDS + FETCH_FIELDS
)


def is_saved_dataset(location: str) -> bool:
    return os.path.isfile(os.path.join(location, "dataset_dict.json"))


def is_exported_dataset(location: str) -> bool:
    """A folder in the Hub's layout, as `build_dataset.py --export` writes it."""
    return os.path.isdir(os.path.join(location, "data")) and os.path.isfile(os.path.join(location, "README.md"))


def load_shared_dataset(location: str, cache_dir: str | None = None) -> tuple[DatasetDict, BuildReport]:
    """An exported folder or Hub dataset repo through `datasets.load_dataset`, with the build report it carries
    (the cut points the labels were made with come from there, never re-derived; a repo's report names the repo as
    its source, which a model card links to). A local folder is read afresh each time: `datasets` keys its cache on
    the card's sizes, which an export of other prices can keep."""
    fresh = DownloadMode.FORCE_REDOWNLOAD if os.path.isdir(location) else None
    try:
        if os.path.isdir(location):
            folder = location
        else:
            folder = os.path.dirname(hf_hub_download(location, BuildReport.FILE_NAME, repo_type="dataset"))
        if not BuildReport.exists(folder):
            raise DataError(f"{location} has no {BuildReport.FILE_NAME}: its tier cut points are unknown")
        dataset = load_dataset(location, cache_dir=cache_dir, download_mode=fresh)
    except (OSError, ConnectionError, HfHubHTTPError) as error:  # a Hub repo that cannot be reached or found
        raise DataError(f"{location}: {' '.join(str(error).split())}") from error
    report = BuildReport.load(folder)
    if not os.path.isdir(location):
        report.source = location
    return dataset, report
