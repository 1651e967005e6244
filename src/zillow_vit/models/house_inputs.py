"""The inputs every house model takes, and which photos of a house it reads.

A batch of houses is `pixel_values` `(batch, photos, channels, height, width)`, each house zero-padded to the batch's
largest, and `photo_mask` `(batch, photos)`, True where a real photo is. A model reads the first
`config.max_photos` photos of each house in listing order: the one rule, applied in every model's forward, so that
training evaluation, `predict.py`, the pipeline and any other caller read the same photos. Imported relatively by
the modeling files and the image processor, so it ships with them as Hub custom code.
"""

import torch


def pad_houses(houses: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """One `(photos, channels, height, width)` tensor per house → padded `pixel_values` and `photo_mask`."""
    most_photos = max(photos.shape[0] for photos in houses)
    pixel_values = houses[0].new_zeros((len(houses), most_photos, *houses[0].shape[1:]))
    photo_mask = torch.zeros((len(houses), most_photos), dtype=torch.bool)
    for index, photos in enumerate(houses):
        pixel_values[index, : len(photos)] = photos
        photo_mask[index, : len(photos)] = True
    return pixel_values, photo_mask


def photos_read(
    pixel_values: torch.Tensor, photo_mask: torch.Tensor | None, max_photos: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """The photos a model reads, in the model's `dtype`: `(batch, channels, H, W)` taken as one photo per house, then
    the first `max_photos` slots; the mask defaults to all photos real and becomes bool on the photos' device. A
    house with no real photo among them is an error naming it (a model would answer for it from padding alone)."""
    if pixel_values.dim() == 4:
        pixel_values = pixel_values.unsqueeze(1)
    if photo_mask is None:
        photo_mask = torch.ones(pixel_values.shape[:2], dtype=torch.bool, device=pixel_values.device)
    photo_mask = photo_mask.to(device=pixel_values.device, dtype=torch.bool)
    pixel_values, photo_mask = pixel_values[:, :max_photos], photo_mask[:, :max_photos]
    has_photo = photo_mask.any(dim=1)
    if not torch.compiler.is_compiling() and not has_photo.all():
        empty = (~has_photo).nonzero().flatten().tolist()
        raise ValueError(f"Houses {empty} of the batch have no photo (photo_mask) among the {max_photos} read.")
    return pixel_values.to(dtype), photo_mask


def encode_photos(encoder, photos: torch.Tensor, test_time_flip: bool, training: bool) -> torch.Tensor:
    """`encoder(photos)`, `(n, channels, H, W)` → `(n, features)`; out of training with `test_time_flip`
    (`config.test_time_flip`), the mean of the photos' vectors and of their mirror images' vectors."""
    vectors = encoder(photos)
    if test_time_flip and not training:
        vectors = (vectors + encoder(photos.flip(-1))) / 2
    return vectors
