"""From a listing export (or the built-in synthetic set) to a `datasets` image dataset of price tiers."""

from .errors import DataError
from .facts import ListingField, ListingFieldError, parse_listing_fields
from .listing import Listing, ListingFormatError, read_listings
from .options import DatasetOptions
from .photos import FetchSettings, PhotoStore
from .report import BuildReport
from .splits import TIER_NAMES, assign_splits, price_tier, tercile_cut_points
from .zillow_houses import SYNTHETIC, ZillowHouses, ZillowHousesConfig, build_house_dataset, house_source

__all__ = [
    "SYNTHETIC",
    "TIER_NAMES",
    "BuildReport",
    "DataError",
    "DatasetOptions",
    "FetchSettings",
    "Listing",
    "ListingField",
    "ListingFieldError",
    "ListingFormatError",
    "PhotoStore",
    "ZillowHouses",
    "ZillowHousesConfig",
    "assign_splits",
    "build_house_dataset",
    "house_source",
    "parse_listing_fields",
    "price_tier",
    "read_listings",
    "tercile_cut_points",
]
