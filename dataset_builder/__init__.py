"""From a listing export (or the built-in synthetic set) to a `datasets` image dataset of price tiers."""

from .listing import ListingFormatError, read_listings
from .photos import FetchSettings, PhotoStore
from .report import BuildReport
from .splits import TIER_NAMES, assign_splits, price_tier, tercile_cut_points
from .zillow_houses import ZillowHouses, ZillowHousesConfig, build_house_dataset

__all__ = [
    "TIER_NAMES",
    "BuildReport",
    "FetchSettings",
    "ListingFormatError",
    "PhotoStore",
    "ZillowHouses",
    "ZillowHousesConfig",
    "assign_splits",
    "build_house_dataset",
    "price_tier",
    "read_listings",
    "tercile_cut_points",
]
