"""Photo transforms (torchvision transforms v2) and the per-house transform given to `set_transform`.

Evaluation uses the model's own image processor (`HousePhotoProcessor.photo_transform()`), the one saved with every
run, so a loaded model preprocesses exactly as it was evaluated; training augments at the same size, mean and std.
"""

import math
import random

import torch
from torchvision.transforms import v2
from transformers import AutoImageProcessor

from dataset_builder.listing import PHOTO_ASPECT

from ..models.image_processing_house import HousePhotoProcessor, upright_rgb
from ..models.listing_facts import ListingFactEncoder

CROP_PCT_BELOW = 384  # transformers' ConvNeXt processor crops by crop_pct below this size; at or above it, no margin


def processor_for_backbone(backbone: str, whole_photo: bool = False) -> HousePhotoProcessor:
    """The house processor with a pretrained backbone's input size, resize, mean and std: a timm model's
    `data_config` (crop fraction included) or a transformers image processor (`size`, `crop_size`, `crop_pct`). A
    resize to a larger side than the input before the centre crop (DeiT's 256 → 224, ConvNeXt's `crop_pct`) keeps
    its margin: the photo's short side goes to that larger side, aspect ratio kept.

    With `whole_photo`, a 3:2 listing photo is read whole instead: its short side goes to the input's height and the
    input is `PHOTO_ASPECT` times as wide (224 × 336 for a 224 backbone), for backbones that take any input size
    (convolutional ones: EfficientNet, ConvNeXt, ResNet)."""
    source = AutoImageProcessor.from_pretrained(backbone)
    data_config = getattr(source, "data_config", None)
    if data_config is not None:
        height, width = data_config["input_size"][1:]
        shortest_edge = math.floor(min(height, width) / data_config.get("crop_pct", 1.0))
        mean, std = data_config["mean"], data_config["std"]
    else:
        height, width, shortest_edge = transformers_input(source)
        mean, std = source.image_mean, source.image_std
    if whole_photo:
        height, width, shortest_edge = height, round(height * PHOTO_ASPECT), height
    return HousePhotoProcessor({"height": height, "width": width}, shortest_edge, mean, std)


def transformers_input(source) -> tuple[int, int, int | None]:
    """(height, width, shortest edge) of the input of a transformers image processor."""
    size = dict(source.size)
    crop = getattr(source, "crop_size", None) if getattr(source, "do_center_crop", False) else None
    crop_pct = getattr(source, "crop_pct", None)
    if crop:
        height, width = crop["height"], crop["width"]
        shortest_edge = size.get("shortest_edge") or min(size.get("height", height), size.get("width", width))
        if crop_pct and "shortest_edge" in size:  # PoolFormer: the short side to shortest_edge / crop_pct
            shortest_edge = int(shortest_edge / crop_pct)
        return height, width, shortest_edge
    if "height" in size:
        return size["height"], size["width"], None
    shortest_edge = size["shortest_edge"]
    if crop_pct and shortest_edge < CROP_PCT_BELOW:  # ConvNeXt: to shortest_edge / crop_pct, then the centre
        return shortest_edge, shortest_edge, int(shortest_edge / crop_pct)
    return shortest_edge, shortest_edge, shortest_edge


def train_photo_transform(
    processor: HousePhotoProcessor, min_crop_scale: float = 0.8, colour_jitter: float = 0.0
) -> v2.Compose:
    """The evaluation's resize (short side to `shortest_edge`), then a randomly placed crop of the evaluation's size
    (where the evaluation takes the centre one), then a random resized crop of `min_crop_scale`–100 % of its area with
    an aspect ratio within 3/4–4/3 of the input's, a horizontal flip and, when `colour_jitter` is above 0, brightness,
    contrast and saturation jitter of that strength; at the processor's size, mean and std.

    Training photos thus keep the evaluation's scale and shape: a random resized crop of the whole photo would squeeze
    a 3:2 listing photo into the input by 25 % (its aspect ratio lies outside 3/4–4/3, so every draw falls back to
    the same centre crop)."""
    height, width = processor.crop_size
    jitter = [v2.ColorJitter(colour_jitter, colour_jitter, colour_jitter)] if colour_jitter else []
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(processor.shortest_edge, antialias=True),
            v2.RandomCrop(processor.crop_size, pad_if_needed=True),
            v2.RandomResizedCrop(
                processor.crop_size,
                scale=(min_crop_scale, 1.0),
                ratio=(0.75 * width / height, 4 / 3 * width / height),
                antialias=True,
            ),
            v2.RandomHorizontalFlip(),
            *jitter,
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=processor.image_mean, std=processor.image_std),
        ]
    )


class HouseTransform:
    """Batch of houses → `pixel_values` (one (photos, 3, H, W) tensor per house) and `labels`, and for a model with
    `listing_facts` (its `config.listing_facts`) `fact_values` and `fact_codes` (one `(facts,)` row per house, made by
    `ListingFactEncoder` from the dataset's fact columns).

    Reads at most `max_photos` photos per house (the model's `config.max_photos`): a random sample of them (in listing
    order) when `sample_photos`, else the first `max_photos` in listing order, the rule every model applies.
    """

    def __init__(
        self, photo_transform: v2.Compose, max_photos: int, sample_photos: bool, listing_facts: list[dict] = ()
    ):
        self.photo_transform = photo_transform
        self.max_photos = max_photos
        self.sample_photos = sample_photos
        self.encode_facts = ListingFactEncoder(list(listing_facts))

    def select(self, photos: list) -> list:
        if self.sample_photos and len(photos) > self.max_photos:
            return [photos[i] for i in sorted(random.sample(range(len(photos)), self.max_photos))]
        return photos[: self.max_photos]

    def __call__(self, batch: dict) -> dict:
        pixel_values = [
            torch.stack([self.photo_transform(upright_rgb(photo)) for photo in self.select(photos)])
            for photos in batch["images"]
        ]
        houses = {"pixel_values": pixel_values, "labels": batch["label"]}
        names = self.encode_facts.names
        facts = self.encode_facts([dict(zip(names, values)) for values in zip(*(batch[name] for name in names))])
        houses.update({name: list(rows) for name, rows in facts.items()})
        return houses


def house_transforms(
    processor: HousePhotoProcessor,
    max_photos: int,
    sample_training_photos: bool,
    listing_facts: list[dict] = (),
    **augmentation,
) -> dict:
    """`set_transform` functions per split: augmented (`train_photo_transform` with `augmentation`) and optionally
    sampled photos for train, the processor's evaluation transform on the first `max_photos` photos for validation and
    test; every split with the facts of `listing_facts` (the model's `config.listing_facts`)."""
    evaluation = HouseTransform(processor.photo_transform(), max_photos, False, listing_facts)
    photo_transform = train_photo_transform(processor, **augmentation)
    training = HouseTransform(photo_transform, max_photos, sample_training_photos, listing_facts)
    return {"train": training, "validation": evaluation, "test": evaluation}
