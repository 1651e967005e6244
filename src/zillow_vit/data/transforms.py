"""Photo transforms (torchvision transforms v2) and the per-house transform given to `set_transform`.

Size, mean and std come from an image processor, so a pretrained backbone's own preprocessing drives
the pipeline, and every run saves them as one `ViTImageProcessor` for inference.
"""

import random

import torch
from torchvision.transforms import v2
from transformers import ViTImageProcessor


def image_settings(image_processor) -> tuple[tuple[int, int], list[float], list[float]]:
    """(height, width), mean and std of a transformers image processor or of a timm one (`data_config`)."""
    data_config = getattr(image_processor, "data_config", None)
    if data_config is not None:
        return tuple(data_config["input_size"][1:]), list(data_config["mean"]), list(data_config["std"])
    size = image_processor.size
    height, width = (size["height"], size["width"]) if "height" in size else (size["shortest_edge"],) * 2
    return (height, width), list(image_processor.image_mean), list(image_processor.image_std)


def house_image_processor(size: tuple[int, int], mean: list[float], std: list[float]) -> ViTImageProcessor:
    """The image processor saved with every model: resize to `size`, rescale, normalise."""
    return ViTImageProcessor(size={"height": size[0], "width": size[1]}, image_mean=mean, image_std=std)


def photo_transforms(image_processor, train: bool) -> v2.Compose:
    """Train: random resized crop and horizontal flip; eval: resize and centre crop. Then normalise."""
    size, mean, std = image_settings(image_processor)
    if train:
        geometry = [v2.RandomResizedCrop(size, scale=(0.8, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    else:
        geometry = [v2.Resize(min(size), antialias=True), v2.CenterCrop(size)]
    return v2.Compose(
        [
            v2.ToImage(),
            *geometry,
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=mean, std=std),
        ]
    )


class HouseTransform:
    """Batch of houses → `pixel_values` (one (photos, 3, H, W) tensor per house) and `labels`.

    Reads at most `max_photos` photos per house: a random sample of them (in listing order) when
    `sample_photos`, else the first `max_photos` in listing order.
    """

    def __init__(self, photo_transform: v2.Compose, max_photos: int, sample_photos: bool):
        self.photo_transform = photo_transform
        self.max_photos = max_photos
        self.sample_photos = sample_photos

    def select(self, photos: list) -> list:
        if self.sample_photos and len(photos) > self.max_photos:
            return [photos[i] for i in sorted(random.sample(range(len(photos)), self.max_photos))]
        return photos[: self.max_photos]

    def __call__(self, batch: dict) -> dict:
        pixel_values = [
            torch.stack([self.photo_transform(photo) for photo in self.select(photos)]) for photos in batch["images"]
        ]
        return {"pixel_values": pixel_values, "labels": batch["label"]}
