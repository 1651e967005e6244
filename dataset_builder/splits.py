"""Seeded house-level splits balanced over the price range, and price terciles from train only."""

from __future__ import annotations

import math

import numpy as np

from .errors import DataError

TIER_NAMES = ("cheap", "average", "expensive")
PRICE_BIN_SIZE = 10


def dollars(price: float) -> str:
    """'$312,333', or '$312,333.34' when it has a fraction (rounded up to the cent): a cut point shown so that every
    whole-cent price below the shown value is below the cut point."""
    return f"${price:,.0f}" if float(price).is_integer() else f"${math.ceil(round(price * 100, 6)) / 100:,.2f}"


def assign_splits(prices, validation_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """Split name ("train"/"validation"/"test") per house, stratified by price.

    Houses are sorted by price and cut into consecutive bins of `PRICE_BIN_SIZE`; each bin is shuffled
    with the seed and gives validation and test their share, counted cumulatively so that the global
    fractions hold exactly up to rounding. Needs no label, so no cut point is involved.
    """
    if validation_fraction < 0 or test_fraction < 0 or validation_fraction + test_fraction >= 1:
        raise ValueError(f"bad split fractions: validation {validation_fraction}, test {test_fraction}")
    prices = np.asarray(prices, dtype=np.float64)
    rng = np.random.default_rng(seed)
    splits = np.full(len(prices), "train", dtype=object)
    order = np.argsort(prices, kind="stable")
    seen = given_validation = given_test = 0
    for start in range(0, len(order), PRICE_BIN_SIZE):
        price_bin = rng.permutation(order[start : start + PRICE_BIN_SIZE])
        seen += len(price_bin)
        n_test = round(seen * test_fraction) - given_test
        n_validation = round(seen * validation_fraction) - given_validation
        splits[price_bin[:n_test]] = "test"
        splits[price_bin[n_test : n_test + n_validation]] = "validation"
        given_test += n_test
        given_validation += n_validation
    return splits


def tercile_cut_points(train_prices) -> tuple[float, float]:
    """The 1/3 and 2/3 quantiles of the training prices."""
    low, high = np.quantile(np.asarray(train_prices, dtype=np.float64), [1 / 3, 2 / 3])
    return float(low), float(high)


def refuse_degenerate(split_prices: dict[str, list[float]], fractions: dict[str, float], cut_points) -> None:
    """A `DataError` of one line when the splits cannot train and measure a three-tier model: a split asked
    for is empty, the cut points are not strictly increasing, or a tier has no training house."""
    for name, prices in split_prices.items():
        if not prices and fractions.get(name, 1) > 0:
            raise DataError(
                f"Refusing to build: the {name} split would be empty ({sum(map(len, split_prices.values()))} "
                f"usable houses); add houses or raise --{name}_fraction."
            )
    low, high = cut_points
    if not low < high:
        raise DataError(
            f"Refusing to build: the tercile cut points ({dollars(low)}, {dollars(high)}) are not strictly increasing; "
            "the training prices are too alike to make three tiers."
        )
    train = split_prices["train"]
    counts = np.bincount([price_tier(price, cut_points) for price in train], minlength=3)
    for name, count in zip(TIER_NAMES, counts):
        if count == 0:
            tied = [f"{train.count(cut)} cost exactly {dollars(cut)}" for cut in cut_points if train.count(cut) > 1]
            why = f" ({'; '.join(tied)}: a tier starts at its cut point)" if tied else ""
            raise DataError(
                f"Refusing to build: no {name} house in the training split (cut points {dollars(low)}, "
                f"{dollars(high)}); the training prices are too few or too alike{why}."
            )


def price_tier(price: float, cut_points: tuple[float, float]) -> int:
    """0 (cheap) below the first cut point, 2 (expensive) from the second on, else 1 (average)."""
    return int(np.searchsorted(cut_points, price, side="right"))
