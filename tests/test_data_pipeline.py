import random

import numpy as np
import pytest
import torch
from PIL import Image

from dataset_builder import assign_splits, price_tier
from dataset_builder.synthetic import TIER_MARKER_COLOURS, make_synthetic_houses
from zillow_vit.data import HouseTransform, collate_houses, train_photo_transform
from zillow_vit.models import HousePhotoProcessor

PROCESSOR = HousePhotoProcessor(size={"height": 24, "width": 24})


def test_assign_splits_gives_exact_fractions():
    splits = assign_splits(np.random.default_rng(0).uniform(1e5, 1e6, 257), 0.15, 0.1, seed=3)
    counts = {name: int((splits == name).sum()) for name in ("train", "validation", "test")}
    assert counts == {"train": 192, "validation": 39, "test": 26}  # round(257 * 0.15), round(257 * 0.1)


def test_price_tier_boundaries():
    cuts = (200.0, 400.0)
    assert [price_tier(p, cuts) for p in (100, 199.9, 200, 399, 400, 1e9)] == [0, 0, 1, 1, 2, 2]


def test_synthetic_houses_are_deterministic_and_plant_a_sparse_signal():
    houses = make_synthetic_houses(90, seed=5, image_size=32)
    again = make_synthetic_houses(90, seed=5, image_size=32)
    assert [h.price for h in houses] == [h.price for h in again]
    assert np.array_equal(np.asarray(houses[7].photos[0]), np.asarray(again[7].photos[0]))
    assert [h.tier for h in houses].count(0) == 30
    assert {len(h.photos) for h in houses} == set(range(1, 7))
    assert all(h.marker_photos for h in houses)
    multi = [h for h in houses if len(h.photos) > 1]
    first_unmarked = sum(h.marker_photos[0] != 0 for h in multi) / len(multi)
    assert 0.4 < first_unmarked < 0.8  # one photo alone often misses the marker


def test_synthetic_marker_colour_is_drawn_only_in_marked_photos():
    house = make_synthetic_houses(1, seed=2, image_size=48, max_photos=6)[0]
    colour = np.array(TIER_MARKER_COLOURS[house.tier])
    has_colour = [bool((np.abs(np.asarray(photo, dtype=int) - colour).sum(-1) < 10).any()) for photo in house.photos]
    assert [i for i, flag in enumerate(has_colour) if flag] == house.marker_photos


def photos(count, size=(40, 30)):
    return [Image.new("RGB", size, (i * 40, 10, 10)) for i in range(count)]


def test_eval_transform_reads_first_photos_in_order():
    transform = HouseTransform(PROCESSOR.photo_transform(), max_photos=2, sample_photos=False)
    batch = transform({"images": [photos(4), photos(1)], "label": [2, 0]})
    assert [tuple(p.shape) for p in batch["pixel_values"]] == [(2, 3, 24, 24), (1, 3, 24, 24)]
    red = batch["pixel_values"][0][:, 0, 12, 12]
    assert red.tolist() == pytest.approx([2 * 0 / 255 - 1, 2 * 40 / 255 - 1], abs=0.02)
    assert batch["labels"] == [2, 0]


def test_train_transform_samples_photos_at_random_in_listing_order():
    random.seed(0)
    transform = HouseTransform(train_photo_transform(PROCESSOR), max_photos=3, sample_photos=True)
    seen = set()
    for _ in range(20):
        reds = transform({"images": [photos(6)], "label": [1]})["pixel_values"][0][:, 0].mean(dim=(1, 2))
        assert torch.all(reds[1:] > reds[:-1])
        seen.add(tuple(round(v, 1) for v in reds.tolist()))
    assert len(seen) > 5


def test_collate_pads_and_masks():
    houses = [
        {"pixel_values": torch.ones(3, 3, 4, 4), "labels": 1},
        {"pixel_values": torch.full((1, 3, 4, 4), 2.0), "labels": 0},
    ]
    batch = collate_houses(houses)
    assert batch["pixel_values"].shape == (2, 3, 3, 4, 4)
    assert batch["photo_mask"].tolist() == [[True, True, True], [True, False, False]]
    assert torch.equal(batch["pixel_values"][1, 1:], torch.zeros(2, 3, 4, 4))
    assert torch.equal(batch["pixel_values"][1, 0], torch.full((3, 4, 4), 2.0))
    assert batch["labels"].tolist() == [1, 0]
