"""What a frozen-backbone probe reads (`baselines.photo_features`, `compare.py --probe_readings`): the pooled output,
or that followed by every stage's hidden states averaged over their positions."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict
from datasets import Image as ImageFeature
from PIL import Image

from zillow_vit import baselines

from conftest import load_script, write_tiny_vit_checkpoint


class TwoStageBackbone(torch.nn.Module):
    """A "backbone" with a feature map (its photos) and a token sequence (the rows of its first channel) as hidden
    states, and the photos' channel maxima as pooled output."""

    def forward(self, pixel_values, output_hidden_states=False):
        pooled = pixel_values.amax(dim=(2, 3))
        states = (pixel_values, pixel_values[:, 0]) if output_hidden_states else None
        return SimpleNamespace(pooler_output=pooled, hidden_states=states)


def test_all_stages_follow_the_pooled_output_with_each_stage_averaged_over_its_positions():
    photos = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).reshape(2, 3, 2, 4)
    pooled = baselines.photo_features(TwoStageBackbone(), photos)
    every_stage = baselines.photo_features(TwoStageBackbone(), photos, "all-stages")
    map_means = photos.mean(dim=(2, 3))  # (2, 3): one per channel
    token_means = photos[:, 0].mean(dim=1)  # (2, 4): one per token width
    torch.testing.assert_close(pooled, photos.amax(dim=(2, 3)))
    torch.testing.assert_close(every_stage, torch.cat([pooled, map_means, token_means], dim=1))
    with pytest.raises(ValueError, match="reading must be one of"):
        baselines.photo_features(TwoStageBackbone(), photos, "last-stage")


def test_compare_caches_a_probe_row_per_reading_of_each_backbone(tmp_path):
    backbone = write_tiny_vit_checkpoint(tmp_path / "tiny-vit")
    rng = np.random.default_rng(0)
    photos = [Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)) for _ in range(6)]
    houses = Dataset.from_dict({"id": ["a", "b", "c"], "images": [photos[:2], photos[2:5], photos[5:]]})
    houses = houses.cast_column("images", [ImageFeature()])
    split = SimpleNamespace(dataset=DatasetDict({"train": houses}))
    compare = load_script("compare")
    features = compare.house_features([split], [backbone], str(tmp_path), readings=("pooled", "all-stages"))
    pooled, every_stage = features["frozen tiny-vit features"], features["frozen tiny-vit all-stages features"]
    hidden_size, layers = 32, 2  # the tiny ViT's width and depth: its embeddings and each layer are a stage
    for house in "abc":
        assert every_stage[house].shape == (hidden_size * (2 + layers),)
        np.testing.assert_allclose(every_stage[house][:hidden_size], pooled[house], rtol=1e-5, atol=1e-6)
    assert (tmp_path / "features - frozen tiny-vit all-stages features.npz").exists()
