"""Flip test-time augmentation (`config.test_time_flip`): every model reads a photo and its mirror image alike out of
training, and trains exactly as without it."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from dataset_builder import BuildReport
from zillow_vit import baselines
from zillow_vit.hub import write_model_card
from zillow_vit.recipes import MODELS

from conftest import write_tiny_vit_checkpoint


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return write_tiny_vit_checkpoint(tmp_path_factory.mktemp("backbone") / "vit")


def tiny_model(name, backbone, **fields):
    torch.manual_seed(0)
    model, processor = MODELS[name].build("tiny", backbone=backbone if MODELS[name].uses_backbone else None, **fields)
    size = processor.size["height"]
    photos = torch.randn(2, model.config.max_photos, 3, size, size)
    return model, photos


@pytest.mark.parametrize("name", sorted(MODELS))
def test_flip_makes_the_model_blind_to_mirroring(name, backbone):
    model, photos = tiny_model(name, backbone, test_time_flip=True)
    model.eval()
    with torch.no_grad():
        logits = model(photos).logits
        mirrored = model(photos.flip(-1)).logits
        model.config.test_time_flip = False
        plain, plain_mirrored = model(photos).logits, model(photos.flip(-1)).logits
    torch.testing.assert_close(logits, mirrored)
    assert not torch.allclose(plain, plain_mirrored)  # the photos are not symmetric: without the flip, it sees them
    assert not torch.allclose(logits, plain)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_flip_changes_nothing_in_training(name, backbone):
    model, photos = tiny_model(name, backbone, test_time_flip=True)
    model.train()
    labels = torch.tensor([0, 2])
    torch.manual_seed(1)
    flipped = model(photos, labels=labels).loss
    model.config.test_time_flip = False
    torch.manual_seed(1)
    torch.testing.assert_close(flipped, model(photos, labels=labels).loss)


def test_flip_is_saved_with_the_model(backbone, tmp_path):
    model, photos = tiny_model("vit-scratch", backbone, test_time_flip=True)
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path).eval()
    assert loaded.config.test_time_flip
    with torch.no_grad():
        torch.testing.assert_close(loaded(photos).logits, loaded(photos.flip(-1)).logits)


def test_the_model_card_says_the_photos_are_also_read_mirrored(backbone, tmp_path):
    for flip in (True, False):
        model, _ = tiny_model("vit-scratch", backbone, test_time_flip=flip, tier_cut_points=[1.0, 2.0])
        model.save_pretrained(tmp_path / str(flip))
        write_model_card(tmp_path / str(flip), "vit-scratch", {}, BuildReport(source="synthetic", cut_points=[1, 2]))
        assert ("`config.test_time_flip`" in (tmp_path / str(flip) / "README.md").read_text()) is flip


class LeftHalfBackbone(torch.nn.Module):
    """A "backbone" whose pooled features are the mean of each photo's left half."""

    def forward(self, pixel_values):
        return SimpleNamespace(pooler_output=pixel_values[..., : pixel_values.shape[-1] // 2].mean(dim=(2, 3)))


def test_the_probe_features_read_each_photo_and_its_mirror_image_when_asked():
    """`backbone_features(mirrored=True)`, the frozen probe's twin of `test_time_flip`: each photo's features are the
    mean of its own and its mirror image's."""
    left_black = np.zeros((8, 8, 3), dtype=np.uint8)
    left_black[:, 4:] = 255
    houses = {"images": [[Image.fromarray(left_black)] * 2]}
    to_tensor = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    plain = baselines.backbone_features(houses, LeftHalfBackbone(), to_tensor)
    both = baselines.backbone_features(houses, LeftHalfBackbone(), to_tensor, mirrored=True)
    np.testing.assert_allclose(plain, [[0.0, 0.0, 0.0]])
    np.testing.assert_allclose(both, [[0.5, 0.5, 0.5]])
