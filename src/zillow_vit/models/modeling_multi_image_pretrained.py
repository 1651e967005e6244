"""Multi-image model on a pretrained backbone: the backbone encodes each photo, the house encoder of the
multi-image ViT reads the house. All backbone weights are trainable; the new layers start fresh."""

import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel

from .configuration_multi_image_pretrained import MultiImagePretrainedConfig
from .modeling_multi_image_vit import MultiImageHouseReader, MultiImageViTHouseEncoder, MultiImageViTPreTrainedModel
from .tier_heads import TierHead


def photo_feature_size(encoder: PreTrainedModel) -> int:
    """Width of the backbone's pooled output."""
    if hasattr(encoder, "timm_model"):
        return encoder.timm_model.num_features
    config = encoder.config
    if isinstance(getattr(config, "hidden_size", None), int):
        return config.hidden_size
    if getattr(config, "hidden_sizes", None):
        return config.hidden_sizes[-1]
    raise ValueError(f"Cannot tell the feature width of a {type(encoder).__name__} backbone.")


class MultiImagePretrainedPreTrainedModel(PreTrainedModel):
    config_class = MultiImagePretrainedConfig
    base_model_prefix = "multi_image_pretrained"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    accepts_loss_kwargs = False

    def _init_weights(self, module: nn.Module) -> None:
        """The new layers as in the multi-image ViT; the backbone keeps its own initialisation (or loaded weights)."""
        if not any(module is m for m in self.photo_encoder.modules()):
            MultiImageViTPreTrainedModel._init_weights(self, module)


class MultiImagePretrainedForImageClassification(MultiImageHouseReader, MultiImagePretrainedPreTrainedModel):
    """Pretrained backbone per real photo → projection → house encoder → tier head."""

    def __init__(self, config: MultiImagePretrainedConfig):
        super().__init__(config)
        self.photo_encoder = AutoModel.from_config(config.encoder)
        self.projection = nn.Linear(photo_feature_size(self.photo_encoder), config.hidden_size)
        self.photo_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.house_encoder = MultiImageViTHouseEncoder(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = TierHead(config.hidden_size, config.num_labels, config.head_type)
        self.post_init()

    @classmethod
    def from_backbone(cls, backbone: str, **config_kwargs) -> "MultiImagePretrainedForImageClassification":
        """A new model whose photo encoder holds the weights of `backbone` (Hub id or local folder)."""
        encoder = AutoModel.from_pretrained(backbone)
        model = cls(cls.config_class(encoder=encoder.config, backbone=backbone, **config_kwargs))
        model.photo_encoder.load_state_dict(encoder.state_dict())
        return model

    def encode_photos(self, photos: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) → pooled backbone features, projected to (n, hidden_size)."""
        outputs = self.photo_encoder(pixel_values=photos)
        pooled = getattr(outputs, "pooler_output", None)
        pooled = pooled if pooled is not None else outputs.last_hidden_state[:, 0]
        return self.photo_dropout(self.projection(pooled))


__all__ = ["MultiImagePretrainedForImageClassification", "MultiImagePretrainedPreTrainedModel"]
