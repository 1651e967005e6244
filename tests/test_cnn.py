import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageClassification

from zillow_vit.models.configuration_house_cnn import HouseCNNConfig
from zillow_vit.models.modeling_house_cnn import HouseCNNForImageClassification
from zillow_vit.recipes import MODELS

TIERS = {0: "cheap", 1: "average", 2: "expensive"}


def tiny_cnn(**overrides):
    torch.manual_seed(0)
    return HouseCNNForImageClassification(MODELS["cnn"].make_config("tiny", id2label=TIERS, **overrides)).eval()


def test_default_config_is_the_planned_network():
    config = HouseCNNConfig()
    assert config.flat_features == 200_704 and config.num_labels == 3
    with torch.device("meta"):
        model = HouseCNNForImageClassification(config)
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(32, 3, 3, 3), (32,), (64, 32, 3, 3), (64,), (512, 200_704), (512,), (3, 512), (3,)]
    assert model.num_parameters() == 102_781_891


def test_reads_only_the_first_photo():
    model = tiny_cnn()
    photos = torch.randn(2, 3, 3, 32, 32)
    other = photos.clone()
    other[:, 1:] = torch.randn(2, 2, 3, 32, 32)
    with torch.no_grad():
        logits = model(photos).logits
        assert torch.equal(logits, model(other).logits)
        assert torch.equal(logits, model(photos[:, 0]).logits)
        assert not torch.allclose(logits, model(photos.flip(1)).logits)


def test_loss_is_cross_entropy():
    model = tiny_cnn()
    labels = torch.tensor([0, 2])
    output = model(torch.randn(2, 1, 3, 32, 32), labels=labels)
    assert torch.allclose(output.loss, torch.nn.functional.cross_entropy(output.logits, labels))


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = tiny_cnn()
    model.save_pretrained(tmp_path)
    assert set(load_file(tmp_path / "model.safetensors")) == set(model.state_dict())
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, HouseCNNForImageClassification)
    assert loaded.config.id2label == TIERS and loaded.config.conv_channels == [8, 16]
    photos = torch.randn(3, 2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(photos).logits, loaded(photos).logits)


def test_image_size_must_survive_the_pooling():
    with pytest.raises(ValueError, match="image_size 30 must be divisible by 4"):
        HouseCNNConfig(image_size=30)


def test_photos_of_another_size_are_refused_naming_both_sizes():
    model = HouseCNNForImageClassification(HouseCNNConfig(image_size=32, conv_channels=[8, 16], hidden_size=32))
    with pytest.raises(ValueError, match=r"Photos are \(64, 64\) pixels; this model takes \(32, 32\)"):
        model(torch.randn(1, 1, 3, 64, 64))
