"""HouseCNN configuration."""

from transformers import PreTrainedConfig

from .tier_heads import check_head_type


class HouseCNNConfig(PreTrainedConfig):
    r"""
    Configuration of [`HouseCNNForImageClassification`], the scratch CNN baseline that reads one photo
    per house (the first in listing order). The defaults are the network of the project plan: conv 3x3
    3→32 + ReLU, max-pool 2, conv 3x3 32→64 + ReLU, max-pool 2, dense 200704→512 + ReLU, dense 512→3,
    at 224x224 (about 103 M parameters, nearly all in the first dense layer).

    Args:
        image_size (`int`, defaults to 224): side of the square input photo; must be divisible by
            2 ** len(conv_channels).
        num_channels (`int`, defaults to 3): input colour channels.
        conv_channels (`list[int]`, defaults to `[32, 64]`): output channels of each conv block
            (3x3 conv, padding 1, ReLU, 2x2 max-pool).
        hidden_size (`int`, defaults to 512): width of the hidden dense layer.
        initializer_range (`float`, defaults to 0.02): std of the normal init of the output layer.
        head_type (`str`, defaults to `"classification"`): `"classification"` (one logit per tier) or
            `"score"` (one ordinal value in [0, 1]); see `tier_heads.py`.
    """

    model_type = "house_cnn"

    image_size: int = 224
    num_channels: int = 3
    conv_channels: list[int] | tuple[int, ...] = (32, 64)
    hidden_size: int = 512
    initializer_range: float = 0.02
    head_type: str = "classification"

    def __post_init__(self, **kwargs):
        self.conv_channels = list(self.conv_channels)
        check_head_type(self.head_type)
        if self.image_size % 2 ** len(self.conv_channels):
            raise ValueError(
                f"image_size {self.image_size} must be divisible by {2 ** len(self.conv_channels)} "
                f"(one 2x2 max-pool per conv block)"
            )
        kwargs.setdefault("num_labels", 3)
        super().__post_init__(**kwargs)

    @property
    def flat_features(self) -> int:
        """Size of the flattened feature map fed to the first dense layer (200704 by default)."""
        side = self.image_size // 2 ** len(self.conv_channels)
        return self.conv_channels[-1] * side * side


__all__ = ["HouseCNNConfig"]
