"""Multi-image model on a pretrained backbone: the backbone encodes each photo, the house encoder of the
multi-image ViT reads the house. All backbone weights are trainable; the new layers start fresh."""

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_MAPPING

from .configuration_multi_image_pretrained import MultiImagePretrainedConfig
from .modeling_multi_image_vit import MultiPhotoHouseClassifier


def load_backbone(backbone: str) -> PreTrainedModel:
    """The image encoder of `backbone` (Hub id or folder) with its pretrained weights: the model `AutoModel` loads,
    or of a vision-language model (CLIP, SigLIP: a config with a `vision_config`) its vision tower alone. A tower
    that transformers does not load alone, or not from these weights (LLaVA's), is a ValueError naming it."""
    config = AutoConfig.from_pretrained(backbone)
    vision_config = getattr(config, "vision_config", None)
    if vision_config is None:
        return AutoModel.from_pretrained(backbone)
    refused = f"{backbone}: a {config.model_type} model whose vision tower ({vision_config.model_type})"
    if type(vision_config) not in MODEL_MAPPING:
        raise ValueError(f"{refused} is no model of its own in transformers; give an image model's checkpoint")
    tower, loading = MODEL_MAPPING[type(vision_config)].from_pretrained(backbone, output_loading_info=True)
    if loading["missing_keys"]:
        raise ValueError(f"{refused} does not load alone from its weights ({len(loading['missing_keys'])} missing)")
    return tower


def pooled_features(outputs) -> torch.Tensor:
    """`(n, features)` from a backbone's output: its pooled output (a CNN's `(n, C, 1, 1)` pool flattened); without
    one, the mean of its feature map `(n, C, H, W)` or the first token of its sequence `(n, tokens, C)`."""
    pooled = getattr(outputs, "pooler_output", None)
    if pooled is not None:
        return pooled.flatten(1)
    hidden = outputs.last_hidden_state
    return hidden.mean(dim=(2, 3)) if hidden.dim() == 4 else hidden[:, 0]


@torch.no_grad()
def read_blank_photo(backbone: PreTrainedModel, height: int, width: int):
    """The backbone's output for one blank `height` x `width` photo, on its device and in its dtype, in eval mode (no
    batch-norm statistic moves)."""
    parameter, training = next(backbone.parameters()), backbone.training
    channels = getattr(backbone.config, "num_channels", 3)
    backbone.eval()
    try:
        return backbone(
            pixel_values=torch.zeros(1, channels, height, width, device=parameter.device, dtype=parameter.dtype)
        )
    finally:
        backbone.train(training)


def photo_feature_size(backbone: PreTrainedModel) -> int:
    """Width of the backbone's pooled output, read from one blank photo at its input size: configs name it in too
    many ways (`hidden_size`, `hidden_sizes`, `hidden_dim`, a MobileViT's neck) to be read from them."""
    if hasattr(backbone, "timm_model"):
        return backbone.timm_model.num_features
    size = getattr(backbone.config, "image_size", 224)
    height, width = (size, size) if isinstance(size, int) else size
    return pooled_features(read_blank_photo(backbone, height, width)).shape[-1]


class BackbonePhotoEncoder(nn.Module):
    """Photos `(n, 3, H, W)` → pooled backbone features (or the first token) projected to `(n, hidden_size)`."""

    def __init__(self, config: MultiImagePretrainedConfig):
        super().__init__()
        self.backbone = AutoModel.from_config(config.encoder)
        self.projection = nn.Linear(photo_feature_size(self.backbone), config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.projection(pooled_features(self.backbone(pixel_values=pixel_values))))


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

    def _set_gradient_checkpointing(self, enable: bool = True, *args, **kwargs) -> None:
        """transformers' layers (a transformers backbone's, the house blocks), and a timm backbone's own blocks, which
        transformers does not reach inside this model."""
        if hasattr(self.backbone, "timm_model") and self.backbone.supports_gradient_checkpointing:
            self.backbone.timm_model.set_grad_checkpointing(enable)
            if not any(hasattr(module, "gradient_checkpointing") for module in self.modules()):
                return  # no house block (house_num_layers 0): the backbone's are all there is
        super()._set_gradient_checkpointing(enable, *args, **kwargs)

    @classmethod
    def from_backbone(cls, backbone: str, **config_kwargs) -> "MultiImagePretrainedForImageClassification":
        """A new model whose photo encoder holds the weights of `backbone` (Hub id or local folder)."""
        pretrained = load_backbone(backbone)
        model = cls(cls.config_class(encoder=pretrained.config, backbone=backbone, **config_kwargs))
        model.backbone.load_state_dict(pretrained.state_dict())
        return model


__all__ = ["MultiImagePretrainedForImageClassification", "load_backbone", "pooled_features"]
