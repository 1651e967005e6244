"""Configuration of the multi-image model whose photo encoder is a pretrained backbone."""

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .configuration_house import HouseEncoderConfig


@strict
class MultiImagePretrainedConfig(HouseEncoderConfig):
    r"""
    Configuration of a [`MultiImagePretrainedForImageClassification`]: a pretrained vision backbone (any model
    that `AutoModel` builds from `encoder`: ViT, DeiT, DINOv2, ConvNeXt, ResNet, MobileViT, the vision tower of
    CLIP or SigLIP, timm models through `TimmWrapperModel`) encodes each photo to its pooled vector; a projection to
    `hidden_size` and the house encoder (a transformer over a house's photo vectors, order-invariant, padded slots
    masked) read the house.

    The config holds the backbone's whole config (`encoder`), not a Hub id, so a saved model loads offline. The house
    stage fields (`hidden_size`, `house_num_layers`, dropouts, ...) are documented in [`HouseEncoderConfig`], the
    fields of every house model (`max_photos`, `tier_cut_points`, `head_type`) in [`HouseTierConfig`].

    Args:
        encoder (`PreTrainedConfig` or `dict`, *optional*): config of the photo backbone (defaults to a ViT).
        backbone (`str`, *optional*): Hub id or path the backbone weights came from (for the record only).
    """

    model_type = "multi_image_pretrained"
    sub_configs_defaults = {"encoder": SubConfigSpec(config_class=AutoConfig, model_type="vit")}

    encoder: PreTrainedConfig | dict | None = None
    backbone: str | None = None


__all__ = ["MultiImagePretrainedConfig"]
