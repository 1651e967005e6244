import base64
import random

import numpy as np
import pytest
import torch
from PIL import Image, UnidentifiedImageError
from transformers import (
    BitImageProcessor,
    ConvNextImageProcessor,
    DeiTImageProcessor,
    PoolFormerImageProcessor,
    ViTImageProcessor,
)

from dataset_builder import assign_splits, price_tier, tercile_cut_points
from dataset_builder.photos import downscale
from dataset_builder.splits import refuse_degenerate
from dataset_builder.synthetic import TIER_MARKER_COLOURS, make_synthetic_houses
from zillow_vit.data import (
    HouseTransform,
    collate_houses,
    house_transforms,
    processor_for_backbone,
    train_photo_transform,
)
from zillow_vit.models import HousePhotoProcessor
from zillow_vit.models.image_processing_house import open_photo, upright_rgb

from conftest import write_tiny_timm_checkpoint, write_tiny_vit_checkpoint

PROCESSOR = HousePhotoProcessor(size={"height": 24, "width": 24})


def test_assign_splits_gives_exact_fractions():
    splits = assign_splits(np.random.default_rng(0).uniform(1e5, 1e6, 257), 0.15, 0.1, seed=3)
    counts = {name: int((splits == name).sum()) for name in ("train", "validation", "test")}
    assert counts == {"train": 192, "validation": 39, "test": 26}  # round(257 * 0.15), round(257 * 0.1)
    test_share = assign_splits(np.random.default_rng(1).uniform(1e5, 1e6, 257), 0.1, 0.15, seed=3) == "test"
    assert test_share.sum() == 39  # counted cumulatively: 2 or 1 per bin of 10, not round(1.5) = 2 in every bin


def test_every_price_bin_of_ten_gives_validation_and_test_their_share():
    prices = np.random.default_rng(1).permutation(np.arange(100) * 1000.0 + 5e4)  # listing order is not price order
    splits = assign_splits(prices, 0.1, 0.1, seed=0)
    for start in range(0, 100, 10):
        in_bin = splits[np.argsort(prices)[start : start + 10]]
        assert (list(in_bin).count("validation"), list(in_bin).count("test")) == (1, 1)


def test_splits_are_seeded_and_shuffled_within_each_bin():
    prices = np.arange(200) * 1000.0 + 5e4
    assert np.array_equal(assign_splits(prices, 0.1, 0.1, seed=3), assign_splits(prices, 0.1, 0.1, seed=3))
    assert not np.array_equal(assign_splits(prices, 0.1, 0.1, seed=3), assign_splits(prices, 0.1, 0.1, seed=4))
    ranks_in_bin = {int(index) % 10 for index in np.flatnonzero(assign_splits(prices, 0.1, 0.1, seed=3) == "test")}
    assert len(ranks_in_bin) > 3  # not always the cheapest house of a bin


@pytest.mark.parametrize(("validation", "test"), [(0.5, 0.5), (-0.1, 0.2), (0.7, 0.4)])
def test_split_fractions_that_leave_no_training_houses_are_refused(validation, test):
    with pytest.raises(ValueError, match="bad split fractions"):
        assign_splits([1.0, 2.0, 3.0], validation, test, seed=0)


def test_cut_points_are_the_terciles():
    assert tercile_cut_points(range(1, 10)) == pytest.approx((1 + 8 / 3, 1 + 16 / 3))


def test_a_tier_without_training_houses_is_refused():
    with pytest.raises(ValueError, match="no expensive house in the training split"):
        refuse_degenerate({"train": [1.0, 2.0, 3.0], "test": [4.0]}, {"test": 0.1}, (1.5, 5.0))


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
    assert batch["labels"].tolist() == [1, 0] and batch["labels"].dtype == torch.long


SHIFTED = HousePhotoProcessor(size={"height": 24, "width": 24}, image_mean=[0.4] * 3, image_std=[0.2] * 3)


def uniform_photo(colour=(102, 153, 204), size=(40, 30)):
    return Image.new("RGB", size, colour)


def textured_photo(seed, size=(40, 30)):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def test_train_transform_works_at_the_processor_size_mean_and_std():
    photo = train_photo_transform(SHIFTED)(uniform_photo())
    assert photo.shape == (3, 24, 24)
    # (102, 153, 204) / 255 = (0.4, 0.6, 0.8): minus 0.4, over 0.2
    assert photo.mean(dim=(1, 2)).tolist() == pytest.approx([0.0, 1.0, 2.0], abs=0.02)


def half_black_photo(side=24):
    pixels = np.zeros((side, side, 3), dtype=np.uint8)
    pixels[:, side // 2 :] = 255
    return Image.fromarray(pixels)


def test_min_crop_scale_bounds_how_little_of_the_photo_a_training_crop_keeps():
    """A crop of the whole photo is half white; only small crops can fall into one half."""
    torch.manual_seed(0)

    def brightness(min_crop_scale):
        transform = train_photo_transform(PROCESSOR, min_crop_scale=min_crop_scale)
        return torch.tensor([transform(half_black_photo()).mean().item() for _ in range(50)])

    whole = brightness(1.0)  # (0 and 1 over mean and std 0.5: -1 and 1) → about 0
    torch.testing.assert_close(whole, torch.zeros(50), rtol=0, atol=0.1)
    assert (brightness(0.05) - 0).abs().max() > 0.9


def coordinate_photo(width=60, height=40):
    """Red rises from left to right, green from top to bottom: a crop's colours tell where it came from."""
    red = np.broadcast_to(np.linspace(0, 255, width), (height, width))
    green = np.broadcast_to(np.linspace(0, 255, height)[:, None], (height, width))
    return Image.fromarray(np.stack([red, green, np.zeros_like(red)], axis=-1).round().astype(np.uint8))


def source_window(crop, width=60, height=40):
    """(width, height, centre x) in photo pixels of the window a (flipped or not) crop of `coordinate_photo` shows."""
    red, green = (crop[:2] + 1) / 2  # mean = std = 0.5
    window_width = (red[:, -1] - red[:, 0]).mean().abs().item() * width
    window_height = (green[-1] - green[0]).mean().item() * height
    return window_width, window_height, red.mean().item() * width


def test_training_crops_keep_the_evaluation_shape_and_move_over_the_photo():
    """A 3:2 photo: evaluation shows a square window of it; training windows are square on average (not squeezed
    into the square input), at a scale near the evaluation's, and fall at different places."""
    eval_width, eval_height, _ = source_window(PROCESSOR.photo_transform()(coordinate_photo()))
    assert eval_width / eval_height == pytest.approx(1.0, abs=0.02)
    torch.manual_seed(0)
    transform = train_photo_transform(PROCESSOR, min_crop_scale=0.8)
    windows = np.array([source_window(transform(coordinate_photo())) for _ in range(60)])
    log_aspects = np.log(windows[:, 0] / windows[:, 1])
    assert abs(np.median(log_aspects)) < 0.08 and np.abs(log_aspects).max() < np.log(4 / 3) + 0.05
    areas = windows[:, 0] * windows[:, 1] / (eval_width * eval_height)
    assert areas.min() > 0.8 - 0.1 and areas.max() < 1 + 0.1
    assert windows[:, 2].std() > 3  # the window's centre moves along the long side


def test_the_processor_reduces_a_larger_photo_as_the_builder_stored_the_training_photos(tmp_path):
    processor = HousePhotoProcessor(size={"height": 12, "width": 12}, max_short_side=16)
    photo = textured_photo(0, size=(64, 48))
    stored = downscale(photo, 16)
    assert torch.equal(processor(photo)["pixel_values"], processor(stored)["pixel_values"])
    unreduced = HousePhotoProcessor(size={"height": 12, "width": 12})(photo)["pixel_values"]
    assert not torch.equal(processor(photo)["pixel_values"], unreduced)
    small = textured_photo(1, size=(20, 14))  # never enlarged
    torch.testing.assert_close(
        processor(small)["pixel_values"], HousePhotoProcessor(size={"height": 12, "width": 12})(small)["pixel_values"]
    )
    processor.save_pretrained(tmp_path)
    assert HousePhotoProcessor.from_pretrained(tmp_path).max_short_side == 16


def test_colour_jitter_changes_colours_only_when_asked():
    torch.manual_seed(0)
    for jitter, varies in ((0.0, False), (0.4, True)):
        transform = train_photo_transform(SHIFTED, colour_jitter=jitter)
        means = torch.stack([transform(uniform_photo()).mean(dim=(1, 2)) for _ in range(10)])
        assert bool(means.std(dim=0).max() > 0.05) is varies


def test_house_transforms_augment_training_only_and_evaluate_like_the_processor():
    houses = {"images": [[textured_photo(seed) for seed in range(3)]], "label": [1]}
    transforms = house_transforms(SHIFTED, max_photos=2, sample_training_photos=False, colour_jitter=0.2)
    expected = SHIFTED([textured_photo(seed) for seed in range(2)])["pixel_values"][0]
    for split in ("validation", "test"):
        assert torch.equal(transforms[split](houses)["pixel_values"][0], expected)
    torch.manual_seed(0)
    training = [transforms["train"](houses)["pixel_values"][0] for _ in range(3)]
    assert training[0].shape == expected.shape
    assert not torch.equal(training[0], training[1]) and not torch.equal(training[1], training[2])


@pytest.mark.parametrize("sample", [False, True])
def test_training_photo_sampling_follows_its_flag(sample):
    random.seed(0)
    transform = house_transforms(PROCESSOR, max_photos=2, sample_training_photos=sample)["train"]
    reds = set()
    for _ in range(10):
        pixel_values = transform({"images": [photos(5)], "label": [0]})["pixel_values"][0]
        reds.add(tuple(round(v, 1) for v in pixel_values[:, 0].mean(dim=(1, 2)).tolist()))
    first_two = {(round(2 * 0 / 255 - 1, 1), round(2 * 40 / 255 - 1, 1))}
    assert (reds == first_two) is not sample


def test_backbone_processor_takes_the_backbones_size_crop_and_statistics(tmp_path):
    timm = processor_for_backbone(
        write_tiny_timm_checkpoint(tmp_path / "timm", mean=(0.3, 0.4, 0.5), std=(0.2, 0.25, 0.3), crop_pct=0.875)
    )
    assert timm.size == {"height": 32, "width": 32} and timm.shortest_edge == 36  # floor(32 / 0.875)
    assert list(timm.image_mean) == pytest.approx([0.3, 0.4, 0.5]) and list(timm.image_std) == pytest.approx(
        [0.2, 0.25, 0.3]
    )
    vit = processor_for_backbone(write_tiny_vit_checkpoint(tmp_path / "vit"))
    assert vit.size == {"height": 32, "width": 32} and vit.shortest_edge == 32
    assert (vit.image_mean, vit.image_std) == ([0.4] * 3, [0.2] * 3)


def test_a_whole_photo_processor_reads_a_3_2_photo_whole_at_the_backbones_input_height(tmp_path):
    """`whole_photo`: no crop margin and no centre square; the short side at the input's height, 1.5 times as wide."""
    timm = processor_for_backbone(write_tiny_timm_checkpoint(tmp_path / "timm", crop_pct=0.875), whole_photo=True)
    assert (timm.size, timm.shortest_edge) == ({"height": 32, "width": 48}, 32)
    DeiTImageProcessor().save_pretrained(tmp_path / "deit")
    deit = processor_for_backbone(str(tmp_path / "deit"), whole_photo=True)
    assert (deit.size, deit.shortest_edge) == ({"height": 224, "width": 336}, 224)


@pytest.mark.parametrize(
    ("stock", "size", "shortest_edge"),
    [
        (DeiTImageProcessor(), 224, 256),  # resized to 256 × 256, then the centre 224 × 224
        (ConvNextImageProcessor(size={"shortest_edge": 224}), 224, 256),  # crop_pct 224 / 256
        (ConvNextImageProcessor(size={"shortest_edge": 384}), 384, 384),  # warped at 384, no crop
        (BitImageProcessor(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224}), 224, 256),  # DINOv2
        (PoolFormerImageProcessor(size={"shortest_edge": 224}, crop_pct=0.9), 224, 248),
        (ViTImageProcessor(size={"height": 224, "width": 224}), 224, 224),
    ],
    ids=["deit", "convnext-224", "convnext-384", "dinov2", "poolformer", "vit"],
)
def test_backbone_processor_keeps_the_crop_margin_of_stock_processors(tmp_path, stock, size, shortest_edge):
    stock.save_pretrained(tmp_path)
    processor = processor_for_backbone(str(tmp_path))
    assert (processor.size, processor.shortest_edge) == ({"height": size, "width": size}, shortest_edge)


def test_processor_resizes_the_short_side_and_crops_the_centre():
    bands = Image.new("RGB", (90, 30))  # red, green and blue thirds: the centre crop of a 3:1 photo is its green third
    for index, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        bands.paste(colour, (30 * index, 0, 30 * index + 30, 30))
    pixel_values = PROCESSOR(bands)["pixel_values"][0, 0]
    assert pixel_values.shape == (3, 24, 24)
    inner = pixel_values[:, :, 2:-2].mean(dim=(1, 2))
    assert inner.tolist() == pytest.approx([-1.0, 1.0, -1.0], abs=0.05)
    assert HousePhotoProcessor(size={"height": 24, "width": 32}).shortest_edge == 24


def test_processor_normalises_with_its_own_mean_and_std():
    values = SHIFTED(uniform_photo())["pixel_values"][0, 0].mean(dim=(1, 2))
    assert values.tolist() == pytest.approx([0.0, 1.0, 2.0], abs=0.02)


def test_processor_takes_one_photo_one_house_or_a_batch_and_reads_at_most_max_photos():
    assert PROCESSOR(uniform_photo())["pixel_values"].shape == (1, 1, 3, 24, 24)
    assert PROCESSOR(photos(3))["pixel_values"].shape == (1, 3, 3, 24, 24)
    batch = PROCESSOR([photos(3), photos(1)])
    assert batch["pixel_values"].shape == (2, 3, 3, 24, 24)
    assert batch["photo_mask"].tolist() == [[True, True, True], [True, False, False]]
    assert PROCESSOR(photos(5), max_photos=2)["photo_mask"].shape == (1, 2)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_pixels_are_white_in_the_builder_and_the_processor_alike(tmp_path, mode, serve):
    """A floor plan with a transparent background: the stored photo and a path, image, URL or base64 data given to the
    processor read its background as white (dropping the alpha channel makes it black, or whatever colour the hidden
    pixels hold)."""
    plan = Image.new("RGBA", (40, 30), (255, 0, 0, 0))  # transparent red: shown as the page behind it
    plan.paste((0, 0, 0, 255), (10, 10, 30, 20))  # an opaque black line
    plan = plan.convert(mode) if mode != "P" else plan.convert("RGB").quantize(2)
    if mode == "P":
        plan.info["transparency"] = plan.getpixel((0, 0))
    plan.save(tmp_path / "plan.png")
    stored = np.asarray(downscale(Image.open(tmp_path / "plan.png"), 256))
    assert stored[0, 0].tolist() == [255, 255, 255] and stored[15, 20].tolist() == [0, 0, 0]
    data_uri = "data:image/png;base64," + base64.b64encode((tmp_path / "plan.png").read_bytes()).decode()
    url = f"{serve(tmp_path).url}/plan.png"
    for given in (str(tmp_path / "plan.png"), Image.open(tmp_path / "plan.png"), url, data_uri, data_uri[22:]):
        corner = PROCESSOR(given)["pixel_values"][0, 0, :, 0, 0]
        torch.testing.assert_close(corner, torch.ones(3))  # white, normalised with mean = std = 0.5


def test_a_photo_location_that_is_not_an_image_names_itself(tmp_path, serve):
    (tmp_path / "page.html").write_text("<html><body>Listing removed</body></html>")
    Image.new("RGB", (8, 8), (0, 90, 200)).save(tmp_path / "blue.png")
    url = serve(tmp_path).url
    with pytest.raises(FileNotFoundError, match="no such file.*photos/front"):
        open_photo(str(tmp_path / "photos" / "front"))
    with pytest.raises(UnidentifiedImageError, match=f"{url}/page.html: not an image file"):
        open_photo(f"{url}/page.html")
    wrapped = base64.encodebytes((tmp_path / "blue.png").read_bytes()).decode()  # 76 characters a line
    shouted = f"  HTTP{url[len('http') :]}/blue.png "  # a capitalised scheme, spaces around
    for given in (shouted, wrapped):
        assert open_photo(given).convert("RGB").getpixel((0, 0)) == (0, 90, 200)


def save_odd_photo(kind: str, path) -> None:
    """A photo of an unusual mode or with a broken EXIF block, as files in the wild hold them."""
    ramp = np.linspace(0, 1, 30 * 40).reshape(30, 40)
    if kind == "corrupt-exif":
        exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06"  # orientation entry, cut short
        return Image.new("RGB", (40, 30), (200, 30, 60)).save(path, format="JPEG", exif=exif)
    if kind.startswith("16-bit"):
        image = Image.fromarray((ramp * 65535).astype(np.uint16))
        transparency = {"transparency": int(np.asarray(image)[0, 0])} if kind.endswith("transparent") else {}
        return image.save(path, format="PNG", **transparency)
    image = {
        "32-bit": lambda: Image.fromarray((ramp * 65535).astype(np.int32)),
        "float": lambda: Image.fromarray((ramp * 300 - 20).astype(np.float32)),
        "cmyk": lambda: Image.new("CMYK", (40, 30), (10, 200, 30, 40)),
        "1-bit": lambda: Image.fromarray(ramp > 0.5),
    }[kind]()
    image.save(path, format="TIFF")


@pytest.mark.parametrize("kind", ["16-bit", "16-bit-transparent", "32-bit", "float", "cmyk", "1-bit", "corrupt-exif"])
def test_the_processor_reads_a_photo_as_the_builder_stores_it(tmp_path, kind):
    path = tmp_path / "photo"
    save_odd_photo(kind, path)
    stored = np.asarray(downscale(Image.open(path), 10_000))
    for given in (str(path), Image.open(path)):
        np.testing.assert_array_equal(np.asarray(upright_rgb(given)), stored)
    if kind == "16-bit-transparent":
        assert stored[0, 0].tolist() == [255, 255, 255] and stored[0, 1].tolist() != [255, 255, 255]


def test_processor_turns_photos_upright_from_their_exif_orientation(tmp_path):
    wide = Image.new("RGB", (40, 20), (0, 0, 255))
    wide.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": the red half ends on top
    wide.save(tmp_path / "sideways.jpg", exif=exif, quality=95)
    pixel_values = PROCESSOR(Image.open(tmp_path / "sideways.jpg"))["pixel_values"][0, 0]
    top, bottom = pixel_values[:, :8].mean(dim=(1, 2)), pixel_values[:, -8:].mean(dim=(1, 2))
    assert top[0] > 0.8 and top[2] < -0.8 and bottom[2] > 0.8 and bottom[0] < -0.8
