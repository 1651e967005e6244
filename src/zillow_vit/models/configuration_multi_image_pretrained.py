"""Configuration of the multi-image model whose photo encoder is a pretrained backbone."""

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .tier_heads import check_head_type


@strict
class MultiImagePretrainedConfig(PreTrainedConfig):
    r"""
    Configuration of a [`MultiImagePretrainedForImageClassification`]: a pretrained vision backbone (any model
    that `AutoModel` builds from `encoder`: ViT, DeiT, DINOv2, ConvNeXt, timm models through `TimmWrapperModel`)
    encodes each photo to its pooled vector; a projection to `hidden_size` and a house encoder (the transformer
    over a house's photo vectors of the multi-image ViT, order-invariant, padded slots masked) read the house.

    The config holds the backbone's whole config (`encoder`), not a Hub id, so a saved model loads offline.

    Args:
        encoder (`PreTrainedConfig` or `dict`, *optional*): config of the photo backbone (defaults to a ViT).
        backbone (`str`, *optional*): Hub id or path the backbone weights came from (for the record only).
        hidden_size (`int`, *optional*, defaults to 256): width of the house encoder.
        house_num_layers (`int`, *optional*, defaults to 2): transformer blocks of the house encoder.
        house_num_heads (`int`, *optional*, defaults to 8): attention heads of the house encoder.
        mlp_ratio (`float`, *optional*, defaults to 4.0): MLP width of the house blocks, times `hidden_size`.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.1): dropout in the house blocks and on the photo vectors.
        attention_probs_dropout_prob (`float`, *optional*, defaults to 0.1): dropout on house attention weights.
        classifier_dropout_prob (`float`, *optional*, defaults to 0.1): dropout before the head.
        layer_norm_eps (`float`, *optional*, defaults to 1e-6): epsilon of the house encoder's layer norms.
        initializer_range (`float`, *optional*, defaults to 0.02): std of the init of the new layers.
        max_photos (`int`, *optional*, defaults to 8): most photos read per house by the data pipeline.
        head_type (`str`, *optional*, defaults to `"classification"`): `"classification"` or `"score"`.
    """

    model_type = "multi_image_pretrained"
    sub_configs_defaults = {"encoder": SubConfigSpec(config_class=AutoConfig, model_type="vit")}

    encoder: PreTrainedConfig | dict | None = None
    backbone: str | None = None
    hidden_size: int = 256
    house_num_layers: int = 2
    house_num_heads: int = 8
    mlp_ratio: float | int = 4.0
    hidden_dropout_prob: float | int = 0.1
    attention_probs_dropout_prob: float | int = 0.1
    classifier_dropout_prob: float | int = 0.1
    layer_norm_eps: float = 1e-6
    initializer_range: float = 0.02
    max_photos: int = 8
    head_type: str = "classification"

    def __post_init__(self, **kwargs):
        check_head_type(self.head_type)
        if self.hidden_size % self.house_num_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of house_num_heads ({self.house_num_heads})."
            )
        if self.id2label is None:
            self.num_labels = kwargs.pop("num_labels", 3)
        super().__post_init__(**kwargs)


__all__ = ["MultiImagePretrainedConfig"]
