"""A built-in, offline listing: procedurally drawn "room photos" whose price tier is learnable.

How the signal is planted (each house is drawn from its own seeded generator, so the set is
deterministic for a given seed):
- Every house gets a latent tier (cheap, average, expensive, in equal numbers) and a price drawn
  log-uniformly from that tier's range; the ranges are separated by gaps, so the terciles of any
  large enough sample of prices fall between tiers and the label equals the latent tier.
- Every photo is a room: a wall of random colour, a floor band, and one to three pieces of
  "furniture" (boxes in muted colours), all independent of the tier: pure noise.
- Strong, sparse signal: the tier's marker (cheap: a red disc, average: a green square,
  expensive: a blue triangle) is drawn in a random non-empty subset of the house's photos, each
  photo carrying it with probability `marker_rate`. The first photo often lacks it, so a model
  that reads one photo sees the marker in about half of the houses, one that reads all in all.
- Weak, dense signal: the floor's brightness rises with the tier, with noise of about the same
  size as the step between tiers, in every photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

TIER_PRICE_RANGES = ((120_000, 280_000), (330_000, 560_000), (650_000, 2_000_000))
TIER_MARKER_COLOURS = ((215, 35, 35), (35, 170, 60), (40, 70, 225))
TIER_FLOOR_BRIGHTNESS = (85, 125, 165)
FLOOR_NOISE = 35


@dataclass
class SyntheticHouse:
    house_id: str
    price: float
    tier: int
    photos: list[Image.Image]
    marker_photos: list[int]


def draw_room(rng: np.random.Generator, size: int, tier: int, with_marker: bool) -> Image.Image:
    """One room photo; the tier shows through the floor brightness and, if asked, the marker."""
    wall = tuple(int(c) for c in rng.integers(150, 235, size=3))
    image = Image.new("RGB", (size, size), wall)
    draw = ImageDraw.Draw(image)
    floor_top = int(size * rng.uniform(0.6, 0.75))
    floor = int(np.clip(TIER_FLOOR_BRIGHTNESS[tier] + rng.normal(0, FLOOR_NOISE), 20, 235))
    draw.rectangle((0, floor_top, size, size), fill=(floor, floor - 10, floor - 20))
    for _ in range(rng.integers(1, 4)):
        width, height = rng.integers(size // 8, size // 3, size=2)
        left, top = rng.integers(0, size - width), rng.integers(size // 4, size - height)
        grey = int(rng.integers(60, 200))
        draw.rectangle((left, top, left + width, top + height), fill=(grey, int(grey * 0.85), int(grey * 0.7)))
    if with_marker:
        draw_marker(draw, rng, size, tier)
    return image


def draw_marker(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, tier: int) -> None:
    extent = max(4, size // 5)
    left, top = (int(v) for v in rng.integers(0, size - extent, size=2))
    box = (left, top, left + extent, top + extent)
    colour = TIER_MARKER_COLOURS[tier]
    if tier == 0:
        draw.ellipse(box, fill=colour)
    elif tier == 1:
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(left + extent // 2, top), (left, top + extent), (left + extent, top + extent)], fill=colour)


def make_house(
    seed: int, index: int, tier: int, image_size: int, max_photos: int, marker_rate: float
) -> SyntheticHouse:
    rng = np.random.default_rng([seed, index])
    low, high = TIER_PRICE_RANGES[tier]
    price = float(round(np.exp(rng.uniform(np.log(low), np.log(high))), -2))
    num_photos = int(rng.integers(1, max_photos + 1))
    has_marker = rng.random(num_photos) < marker_rate
    if not has_marker.any():
        has_marker[rng.integers(num_photos)] = True
    photos = [draw_room(rng, image_size, tier, bool(marked)) for marked in has_marker]
    return SyntheticHouse(f"synthetic-{index:05d}", price, tier, photos, np.flatnonzero(has_marker).tolist())


def make_synthetic_houses(
    num_houses: int = 600, seed: int = 0, image_size: int = 96, max_photos: int = 6, marker_rate: float = 0.35
) -> list[SyntheticHouse]:
    """`num_houses` houses with 1 to `max_photos` photos each, tiers in equal numbers, in seeded order."""
    tiers = np.random.default_rng(seed).permutation(np.arange(num_houses) % 3)
    return [make_house(seed, i, int(tier), image_size, max_photos, marker_rate) for i, tier in enumerate(tiers)]
