"""Configuration of the multi-image ViT: one ViT per photo, then a transformer across a house's photos."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .tier_heads import check_head_type


@strict
class MultiImageViTConfig(PreTrainedConfig):
    r"""
    Configuration of a [`MultiImageViTForImageClassification`]. The defaults are the `vit-scratch` preset: a small ViT
    trained from scratch on a few hundred to a few thousand houses on one GPU.

    The model reads a house as a set of photos. A *photo encoder* (a ViT) turns each photo into its [CLS] vector; a
    *house encoder* (transformer blocks of the same kind) reads those vectors with a learned house token prepended, and
    the house token's final vector is classified. The house encoder has no position embedding over photos, so the
    prediction does not depend on the order of the photos; padded photo slots are masked out.

    Args:
        image_size (`int`, *optional*, defaults to 128):
            Height and width of each (square) photo, in pixels.
        patch_size (`int`, *optional*, defaults to 16):
            Height and width of each patch. Must divide `image_size`.
        num_channels (`int`, *optional*, defaults to 3):
            Number of channels of each photo.
        hidden_size (`int`, *optional*, defaults to 256):
            Width of both encoders (patch tokens, photo vectors and the house token).
        photo_num_layers (`int`, *optional*, defaults to 6):
            Number of transformer blocks of the photo encoder.
        photo_num_heads (`int`, *optional*, defaults to 8):
            Number of attention heads in the photo encoder. Must divide `hidden_size`.
        house_num_layers (`int`, *optional*, defaults to 2):
            Number of transformer blocks of the house encoder.
        house_num_heads (`int`, *optional*, defaults to 8):
            Number of attention heads in the house encoder. Must divide `hidden_size`.
        mlp_ratio (`float`, *optional*, defaults to 4.0):
            Width of each block's MLP, as a multiple of `hidden_size`.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the output of each attention and MLP sub-layer, and on the photo encoder's embeddings (patch
            tokens plus position embeddings); there is no separate embedding dropout.
        attention_probs_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the attention weights.
        classifier_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the house vector before the classifier.
        layer_norm_eps (`float`, *optional*, defaults to 1e-6):
            Epsilon of every layer norm.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated normal initialisation of weights, position embeddings and tokens.
        max_photos (`int`, *optional*, defaults to 8):
            Most photos read per house by the data pipeline. The model itself accepts any number of photos.
        head_type (`str`, *optional*, defaults to `"classification"`):
            `"classification"` (one logit per tier) or `"score"` (one ordinal value in [0, 1]); see `tier_heads.py`.

    `num_labels` defaults to 3 (cheap, average, expensive); pass `id2label`/`label2id` to name the classes.

    Example:

    ```python
    >>> from zillow_vit.models.configuration_multi_image_vit import MultiImageViTConfig
    >>> from zillow_vit.models.modeling_multi_image_vit import MultiImageViTForImageClassification

    >>> config = MultiImageViTConfig(id2label={0: "cheap", 1: "average", 2: "expensive"})
    >>> model = MultiImageViTForImageClassification(config)
    ```"""

    model_type = "multi_image_vit"

    image_size: int = 128
    patch_size: int = 16
    num_channels: int = 3
    hidden_size: int = 256
    photo_num_layers: int = 6
    photo_num_heads: int = 8
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
        if self.image_size % self.patch_size != 0:
            raise ValueError(f"image_size ({self.image_size}) must be a multiple of patch_size ({self.patch_size}).")
        for name in ("photo_num_heads", "house_num_heads"):
            if self.hidden_size % getattr(self, name) != 0:
                raise ValueError(
                    f"hidden_size ({self.hidden_size}) must be a multiple of {name} ({getattr(self, name)})."
                )
        if self.id2label is None:
            self.num_labels = kwargs.pop("num_labels", 3)
        super().__post_init__(**kwargs)


__all__ = ["MultiImageViTConfig"]
