"""Collate houses with different numbers of photos into one padded batch."""

import torch

from ..models.house_inputs import pad_houses


def collate_houses(houses: list[dict]) -> dict[str, torch.Tensor]:
    """`pixel_values` (batch, photos, 3, H, W), zero-padded to the batch's largest house, `photo_mask`
    (batch, photos; True where a real photo is) and `labels` (batch,): the layout the image processor gives; with
    listing facts also `fact_values` and `fact_codes` (batch, facts), the layout `ListingFactEncoder` gives."""
    pixel_values, photo_mask = pad_houses([house["pixel_values"] for house in houses])
    labels = torch.tensor([house["labels"] for house in houses], dtype=torch.long)
    batch = {"pixel_values": pixel_values, "photo_mask": photo_mask, "labels": labels}
    for name in ("fact_values", "fact_codes"):
        if name in houses[0]:
            batch[name] = torch.stack([house[name] for house in houses])
    return batch
