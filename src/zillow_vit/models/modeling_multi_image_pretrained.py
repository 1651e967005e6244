"""Multi-image model on a pretrained backbone: the backbone encodes each photo, the house encoder of the
multi-image ViT reads the house. All backbone weights are trainable; the new layers start fresh."""

import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel

from .configuration_multi_image_pretrained import MultiImagePretrainedConfig
from .modeling_multi_image_vit import MultiPhotoHouseClassifier


def photo_feature_size(backbone: PreTrainedModel) -> int:
    """Width of the backbone's pooled output."""
    if hasattr(backbone, "timm_model"):
        return backbone.timm_model.num_features
    config = backbone.config
    if isinstance(getattr(config, "hidden_size", None), int):
        return config.hidden_size
    if getattr(config, "hidden_sizes", None):
        return config.hidden_sizes[-1]
    raise ValueError(f"Cannot tell the feature width of a {type(backbone).__name__} backbone.")


class BackbonePhotoEncoder(nn.Module):
    """Photos `(n, 3, H, W)` → pooled backbone features (or the first token) projected to `(n, hidden_size)`."""

    def __init__(self, config: MultiImagePretrainedConfig):
        super().__init__()
        self.backbone = AutoModel.from_config(config.encoder)
        self.projection = nn.Linear(photo_feature_size(self.backbone), config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        outputs = self.backbone(pixel_values=pixel_values)
        pooled = getattr(outputs, "pooler_output", None)
        pooled = pooled if pooled is not None else outputs.last_hidden_state[:, 0]
        return self.dropout(self.projection(pooled))


class MultiImagePretrainedForImageClassification(MultiPhotoHouseClassifier):
    """Pretrained backbone per real photo → projection → house encoder → tier head."""

    config_class = MultiImagePretrainedConfig
    base_model_prefix = "multi_image_pretrained"

    def __init__(self, config: MultiImagePretrainedConfig):
        super().__init__(config, BackbonePhotoEncoder(config))
        self.post_init()

    @property
    def backbone(self) -> PreTrainedModel:
        """The pretrained part (what `--freeze_backbone_epochs` freezes and the backbone learning rate applies to)."""
        return self.photo_encoder.backbone

    @classmethod
    def from_backbone(cls, backbone: str, **config_kwargs) -> "MultiImagePretrainedForImageClassification":
        """A new model whose photo encoder holds the weights of `backbone` (Hub id or local folder)."""
        pretrained = AutoModel.from_pretrained(backbone)
        model = cls(cls.config_class(encoder=pretrained.config, backbone=backbone, **config_kwargs))
        model.backbone.load_state_dict(pretrained.state_dict())
        return model


__all__ = ["MultiImagePretrainedForImageClassification"]
