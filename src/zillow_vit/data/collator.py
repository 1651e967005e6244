"""Collate houses with different numbers of photos into one padded batch."""

import torch


def collate_houses(houses: list[dict]) -> dict[str, torch.Tensor]:
    """`pixel_values` (batch, photos, 3, H, W), zero-padded to the batch's largest house, `photo_mask`
    (batch, photos; True where a real photo is) and `labels` (batch,)."""
    most_photos = max(house["pixel_values"].shape[0] for house in houses)
    first = houses[0]["pixel_values"]
    pixel_values = first.new_zeros((len(houses), most_photos, *first.shape[1:]))
    photo_mask = torch.zeros((len(houses), most_photos), dtype=torch.bool)
    for index, house in enumerate(houses):
        count = house["pixel_values"].shape[0]
        pixel_values[index, :count] = house["pixel_values"]
        photo_mask[index, :count] = True
    labels = torch.tensor([house["labels"] for house in houses], dtype=torch.long)
    return {"pixel_values": pixel_values, "photo_mask": photo_mask, "labels": labels}
