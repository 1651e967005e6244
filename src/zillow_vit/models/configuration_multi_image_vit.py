"""Configuration of the multi-image ViT: one ViT per photo, then a transformer across a house's photos."""

from huggingface_hub.dataclasses import strict

from .configuration_house import HouseEncoderConfig


@strict
class MultiImageViTConfig(HouseEncoderConfig):
    r"""
    Configuration of a [`MultiImageViTForImageClassification`]. The defaults are the `vit-scratch` preset: a small ViT
    trained from scratch on a few hundred to a few thousand houses on one GPU.

    The model reads a house as a set of photos. A *photo encoder* (a ViT) turns each photo into its [CLS] vector; a
    *house encoder* (transformer blocks of the same kind) reads those vectors with a learned house token prepended, and
    the house token's final vector is classified. The house encoder has no position embedding over photos, so the
    prediction does not depend on the order of the photos; padded photo slots are masked out.

    The house stage fields (`hidden_size`, `house_num_layers`, `house_num_heads`, `mlp_ratio`, dropouts,
    `layer_norm_eps`) are documented in [`HouseEncoderConfig`]; the fields of every house model (`max_photos`,
    `tier_cut_points`, `head_type`, `initializer_range`) in [`HouseTierConfig`]. `hidden_size`, `mlp_ratio`, the
    dropouts and `layer_norm_eps` apply to the photo encoder too.

    Args:
        image_size (`int`, *optional*, defaults to 128):
            Height and width of each (square) photo, in pixels.
        patch_size (`int`, *optional*, defaults to 16):
            Height and width of each patch. Must divide `image_size`.
        num_channels (`int`, *optional*, defaults to 3):
            Number of channels of each photo.
        photo_num_layers (`int`, *optional*, defaults to 6):
            Number of transformer blocks of the photo encoder.
        photo_num_heads (`int`, *optional*, defaults to 8):
            Number of attention heads in the photo encoder. Must divide `hidden_size`.
        conv_stem_channels (`list[int]`, *optional*):
            A convolutional stem before the patches: per entry a 3x3 conv with that many channels, ReLU and 2x2
            max-pool (the scratch CNN's blocks); the patches of `patch_size` are then cut from its feature map, so
            `image_size` must be divisible by `2 ** len(conv_stem_channels) * patch_size`. None: patches of pixels.
        photo_pooling (`str`, *optional*, defaults to `"cls"`):
            The photo vector: `"cls"`, the final [CLS] token's, or `"mean"`, the mean of the patch tokens (no [CLS]
            token; with `photo_num_layers=0` the global average of the projected conv stem map, as in a CNN).
        conv_stem_batch_norm (`bool`, *optional*, defaults to `False`):
            Batch normalisation after each conv of the stem (the conv then has no bias): a deeper stem trains stably
            from scratch on a few hundred houses.

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
    photo_num_layers: int = 6
    photo_num_heads: int = 8
    conv_stem_channels: list[int] | None = None
    photo_pooling: str = "cls"
    conv_stem_batch_norm: bool = False

    def __post_init__(self, **kwargs):
        stride = self.patch_size * 2 ** len(self.conv_stem_channels or [])
        if self.image_size % stride != 0:
            raise ValueError(
                f"image_size ({self.image_size}) must be a multiple of patch_size ({self.patch_size}) times 2 per "
                f"conv stem block ({len(self.conv_stem_channels or [])})."
            )
        if self.photo_pooling not in ("cls", "mean"):
            raise ValueError(f"photo_pooling must be 'cls' or 'mean', not {self.photo_pooling!r}.")
        if self.photo_pooling == "cls" and self.photo_num_layers == 0:
            raise ValueError(
                "photo_num_layers=0 leaves the [CLS] token unread by the patches: use photo_pooling='mean'."
            )
        if self.hidden_size % self.photo_num_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of photo_num_heads ({self.photo_num_heads})."
            )
        super().__post_init__(**kwargs)


__all__ = ["MultiImageViTConfig"]
