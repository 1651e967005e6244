"""HouseCNN configuration."""

from huggingface_hub.dataclasses import strict

from .configuration_house import HouseTierConfig


@strict
class HouseCNNConfig(HouseTierConfig):
    r"""
    Configuration of [`HouseCNNForImageClassification`], the scratch CNN baseline that reads one photo per house (the
    first in listing order: `max_photos` is 1). The defaults are the network of the project plan: conv 3x3 3→32 +
    ReLU, max-pool 2, conv 3x3 32→64 + ReLU, max-pool 2, dense 200704→512 + ReLU, dense 512→3, at 224x224 (about
    103 M parameters, nearly all in the first dense layer). The fields every house model has (`max_photos`,
    `tier_cut_points`, `head_type`, `initializer_range`) are documented in [`HouseTierConfig`].

    Args:
        image_size (`int`, defaults to 224): side of the square input photo; must be divisible by
            2 ** len(conv_channels).
        num_channels (`int`, defaults to 3): input colour channels.
        conv_channels (`list[int]`, defaults to `[32, 64]`): output channels of each conv block
            (3x3 conv, padding 1, ReLU, 2x2 max-pool).
        hidden_size (`int`, defaults to 512): width of the hidden dense layer.
        max_photos (`int`, defaults to 1): photos read per house; the CNN reads exactly one.
    """

    model_type = "house_cnn"

    image_size: int = 224
    num_channels: int = 3
    conv_channels: list[int] | tuple[int, ...] = (32, 64)
    hidden_size: int = 512
    max_photos: int = 1

    def __post_init__(self, **kwargs):
        self.conv_channels = list(self.conv_channels)
        if self.listing_facts:
            raise ValueError(
                "The CNN reads photos only; listing_facts must be empty (the multi-photo models read facts)"
            )
        if self.max_photos != 1:
            raise ValueError(f"The CNN reads one photo per house; max_photos must be 1, got {self.max_photos}")
        if self.image_size % 2 ** len(self.conv_channels):
            raise ValueError(
                f"image_size {self.image_size} must be divisible by {2 ** len(self.conv_channels)} "
                f"(one 2x2 max-pool per conv block)"
            )
        super().__post_init__(**kwargs)

    @property
    def flat_features(self) -> int:
        """Size of the flattened feature map fed to the first dense layer (200704 by default)."""
        side = self.image_size // 2 ** len(self.conv_channels)
        return self.conv_channels[-1] * side * side


__all__ = ["HouseCNNConfig"]
