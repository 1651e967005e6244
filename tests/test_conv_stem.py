"""vit-scratch with a convolutional stem: the CNN's conv blocks make the tokens the photo transformer reads."""

import pytest
import torch
from transformers import AutoModelForImageClassification

from zillow_vit.models import MultiImageViTConfig, MultiImageViTForImageClassification
from zillow_vit.recipes import MODELS

TINY_STEM = {"image_size": 32, "patch_size": 2, "conv_stem_channels": [8, 16], "hidden_size": 32,
             "photo_num_layers": 1, "photo_num_heads": 2, "house_num_layers": 1, "house_num_heads": 2}  # fmt: skip


def test_stem_feature_map_gives_the_tokens():
    model = MultiImageViTForImageClassification(MultiImageViTConfig(**TINY_STEM))
    embeddings = model.photo_encoder.patch_embeddings
    assert embeddings.num_patches == (32 // 4 // 2) ** 2
    assert embeddings(torch.randn(5, 3, 32, 32)).shape == (5, 16, 32)
    preset = MODELS["vit-scratch"].make_config("conv")
    assert preset.conv_stem_channels == [32, 64] and preset.image_size // 4 // preset.patch_size == 8
    with pytest.raises(ValueError, match="must be a multiple of patch_size"):
        MultiImageViTConfig(**{**TINY_STEM, "image_size": 36})


def test_round_trip_and_padding_leave_the_output_unchanged(tmp_path):
    torch.manual_seed(0)
    model = MultiImageViTForImageClassification(MultiImageViTConfig(**TINY_STEM)).eval()
    model.save_pretrained(tmp_path)
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    photos = torch.randn(2, 3, 3, 32, 32)
    padded = torch.cat([photos, torch.randn(2, 2, 3, 32, 32)], dim=1)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 0, 0]]).bool()
    with torch.no_grad():
        logits = model(photos).logits
        assert torch.equal(logits, loaded(photos).logits)
        torch.testing.assert_close(model(padded, photo_mask=mask).logits, logits, rtol=0, atol=1e-6)
