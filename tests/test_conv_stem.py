"""vit-scratch with a convolutional stem: the CNN's conv blocks make the tokens the photo transformer reads."""

import pytest
import torch
from transformers import AutoModelForImageClassification

from zillow_vit.models import MultiImageViTConfig, MultiImageViTForImageClassification
from zillow_vit.models.modeling_multi_image_vit import MultiImageViTStemConv
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


def test_batch_norm_stem_keeps_its_running_statistics_through_a_round_trip(tmp_path):
    """`conv_stem_batch_norm`: batch norm after each stem conv (which then has no bias); the statistics it learns in
    training are saved and loaded, not reset, so the loaded model predicts exactly as the trained one, and evaluation
    reads them instead of the batch's statistics."""
    torch.manual_seed(0)
    model = MultiImageViTForImageClassification(MultiImageViTConfig(**TINY_STEM, conv_stem_batch_norm=True))
    norms = [module for module in model.modules() if isinstance(module, torch.nn.BatchNorm2d)]
    convs = [module for module in model.modules() if isinstance(module, MultiImageViTStemConv)]
    assert len(norms) == len(convs) == 2 and all(conv.bias is None for conv in convs)
    photos = torch.randn(2, 3, 3, 32, 32) * 2 + 1
    model.train()(photos)  # one forward in training mode moves the running statistics
    learnt = {name: buffer.clone() for name, buffer in model.named_buffers()}
    assert all(norm.running_mean.abs().sum() > 0 for norm in norms)
    model.eval().save_pretrained(tmp_path)
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.conv_stem_batch_norm
    for name, buffer in learnt.items():
        assert torch.equal(buffer, loaded.get_buffer(name)), name
    with torch.no_grad():
        assert torch.equal(model(photos).logits, loaded(photos).logits)
        # evaluation normalises with those statistics, not the batch's: a house's logits do not depend on the others
        torch.testing.assert_close(loaded(photos[:1]).logits, loaded(photos).logits[:1], rtol=0, atol=1e-5)


def test_mean_pooling_reads_every_patch_token_and_every_parameter_learns():
    """`photo_pooling="mean"`: the photo vector is the normed mean of its patch tokens (no [CLS] token); the
    `conv-bn` preset (no attention blocks) gives every parameter a gradient, as DDP without unused-parameter search
    needs."""
    torch.manual_seed(0)
    model = MODELS["vit-scratch"].build("conv-bn")[0].eval()
    encoder = model.photo_encoder
    assert encoder.cls_token is None and model.config.photo_num_layers == 0
    photos = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        expected = encoder.norm((encoder.patch_embeddings(photos) + encoder.position_embeddings).mean(dim=1))
        torch.testing.assert_close(encoder(photos), expected)
    model.train()(torch.randn(2, 4, 3, 64, 64), labels=torch.tensor([0, 2])).loss.backward()
    assert [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()] == []
    with pytest.raises(ValueError, match="photo_pooling must be"):
        MultiImageViTConfig(**TINY_STEM, photo_pooling="max")
    with pytest.raises(ValueError, match="use photo_pooling='mean'"):
        MultiImageViTConfig(**{**TINY_STEM, "photo_num_layers": 0})
