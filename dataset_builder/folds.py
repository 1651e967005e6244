"""K-fold cross-validation over a built house dataset: every house is tested once, and each fold's tiers come from
the terciles of that fold's own training prices (never from its validation or test houses)."""

from __future__ import annotations

import datasets
import numpy as np

from .facts import CATEGORY, NUMBER, RESERVED_COLUMNS
from .report import BuildReport
from .splits import TIER_NAMES, assign_splits, price_tier, refuse_degenerate, tercile_cut_points


def assign_folds(prices, num_folds: int, seed: int) -> np.ndarray:
    """Fold index (0 … num_folds - 1) per house, balanced over price: the houses sorted by price are dealt out in
    consecutive runs of `num_folds`, each run shuffled with the seed, so every fold spans the whole price range."""
    if num_folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {num_folds}")
    rng = np.random.default_rng(seed)
    order = np.argsort(np.asarray(prices, dtype=np.float64), kind="stable")
    folds = np.empty(len(order), dtype=np.int64)
    offset = 0
    for start in range(0, len(order), num_folds):
        run = order[start : start + num_folds]
        folds[run] = (rng.permutation(num_folds)[: len(run)] + offset) % num_folds
        offset += len(run)  # a short last run must not always land in the first folds
    return folds


def pool_houses(dataset: datasets.DatasetDict) -> datasets.Dataset:
    """All houses of a built dataset in one split (train, validation, test order)."""
    return datasets.concatenate_datasets([dataset[name] for name in ("train", "validation", "test") if name in dataset])


def fold_dataset(
    pool: datasets.Dataset,
    fold: int,
    num_folds: int,
    validation_fraction: float,
    seed: int,
    source: str | BuildReport,
    listing_fields: dict[str, dict] | None = None,
) -> tuple[datasets.DatasetDict, BuildReport]:
    """Fold `fold` of `pool`: its houses are the test split, a price-balanced `validation_fraction` of the others the
    validation split, the rest train; every label is re-derived from the training split's cut points. Every other
    column (the listing facts among them) is kept. `source` is the pooled build's report (or just its source); the
    fold's report carries `listing_fields`, by default that report's (its counts are over the same houses), or else
    the facts found among the pool's columns."""
    image_short_side = None
    if isinstance(source, BuildReport):
        listing_fields = source.listing_fields if listing_fields is None else listing_fields
        source, image_short_side = source.source, source.image_short_side
    prices = np.asarray(pool["price"], dtype=np.float64)
    in_test = assign_folds(prices, num_folds, seed) == fold
    rest = np.flatnonzero(~in_test)
    rest_split = assign_splits(prices[rest], validation_fraction, 0.0, seed + fold)
    members = {
        "train": rest[rest_split == "train"],
        "validation": rest[rest_split == "validation"],
        "test": np.flatnonzero(in_test),
    }
    cut_points = tercile_cut_points(prices[members["train"]])
    split_prices = {name: prices[index].tolist() for name, index in members.items()}
    refuse_degenerate(split_prices, {"validation": validation_fraction}, cut_points)
    labels = [price_tier(price, cut_points) for price in prices]
    relabelled = pool.remove_columns("label").add_column("label", labels)
    relabelled = relabelled.cast_column("label", datasets.ClassLabel(names=list(TIER_NAMES)))
    dataset = datasets.DatasetDict({name: relabelled.select(index) for name, index in members.items()})
    report = BuildReport(
        source=f"{source}, fold {fold + 1} of {num_folds} (seed {seed})",
        houses_read=len(pool),
        houses_kept=len(pool),
        photos_stored=sum(len(photos) for photos in pool["images"]),
        split_sizes={name: len(index) for name, index in members.items()},
        cut_points=list(cut_points),
        listing_fields=dict(listing_fields) if listing_fields is not None else pooled_listing_fields(pool),
        image_short_side=image_short_side,
    )
    return dataset, report


def pooled_listing_fields(pool: datasets.Dataset) -> dict[str, dict]:
    """The listing facts among `pool`'s columns (float32: number, string: category, other than the dataset's own
    columns) as a report gives them; without the export at hand, path is the column and every fact without a value
    counts as missing."""
    facts = {}
    for column, feature in pool.features.items():
        if column in RESERVED_COLUMNS or not isinstance(feature, datasets.Value):
            continue
        if feature.dtype == "float32":
            kind, missing = NUMBER, int(np.isnan(np.asarray(list(pool[column]), dtype=np.float64)).sum())
        elif feature.dtype == "string":
            kind, missing = CATEGORY, sum(value is None for value in pool[column])
        else:
            continue
        facts[column] = {"path": column, "kind": kind, "missing": missing, "unparseable": 0}
    return facts


__all__ = ["assign_folds", "fold_dataset", "pool_houses", "pooled_listing_fields"]
