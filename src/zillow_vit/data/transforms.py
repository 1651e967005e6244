"""Photo transforms (torchvision transforms v2) and the per-house transform given to `set_transform`.

Size, mean and std come from the model's image processor, so a pretrained backbone's own
preprocessing drives the pipeline and the same values are saved with the model.
"""

import random

import torch
from torchvision.transforms import v2


def processor_size(image_processor) -> tuple[int, int]:
    size = image_processor.size
    if "height" in size:
        return size["height"], size["width"]
    return size["shortest_edge"], size["shortest_edge"]


def photo_transforms(image_processor, train: bool) -> v2.Compose:
    """Train: random resized crop and horizontal flip; eval: resize and centre crop. Then normalise."""
    size = processor_size(image_processor)
    if train:
        geometry = [v2.RandomResizedCrop(size, scale=(0.8, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    else:
        geometry = [v2.Resize(min(size), antialias=True), v2.CenterCrop(size)]
    return v2.Compose(
        [
            v2.ToImage(),
            *geometry,
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=image_processor.image_mean, std=image_processor.image_std),
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
