"""How each model of the project is built and trained: `scripts/train.py --model NAME` reads its recipe here.

A recipe names the model's classes, its config presets and the defaults of `train.py` arguments for it (any flag
given wins). What a trained model *is* (photos read, cut points, head, preprocessing) is not here: it is written into
the model's config and image processor, which everything after training reads.
"""

from dataclasses import dataclass, field

from transformers import PreTrainedConfig, PreTrainedModel

from .data.transforms import processor_for_backbone
from .models import (
    HouseCNNConfig,
    HouseCNNForImageClassification,
    HousePhotoProcessor,
    MultiImagePretrainedConfig,
    MultiImagePretrainedForImageClassification,
    MultiImageViTConfig,
    MultiImageViTForImageClassification,
)

DEFAULT_BACKBONE = "google/vit-base-patch16-224-in21k"


@dataclass(frozen=True)
class Recipe:
    """A model's classes, named config presets, and `train.py` defaults; `uses_backbone`: its photo encoder comes
    from a pretrained checkpoint (`from_backbone`), whose preprocessing the image processor takes over."""

    config_class: type[PreTrainedConfig]
    model_class: type[PreTrainedModel]
    presets: dict[str, dict] = field(default_factory=dict)
    training_defaults: dict = field(default_factory=dict)
    uses_backbone: bool = False

    def config_kwargs(self, preset: str = "default", **overrides) -> dict:
        if preset not in self.presets:
            raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(self.presets)}")
        return {**self.presets[preset], **overrides}

    def make_config(self, preset: str = "default", **overrides) -> PreTrainedConfig:
        return self.config_class(**self.config_kwargs(preset, **overrides))

    def build(
        self, preset: str = "default", backbone: str | None = None, whole_photo: bool = False, **overrides
    ) -> tuple[PreTrainedModel, HousePhotoProcessor]:
        """A new model and its image processor: the backbone's preprocessing for a model on a pretrained `backbone`
        (Hub id or folder; with `whole_photo`, reading whole 3:2 photos, see `processor_for_backbone`), else the
        model's own square image size with mean = std = 0.5."""
        if self.uses_backbone:
            if not backbone:
                raise ValueError(f"{self.model_class.__name__} needs a pretrained backbone (Hub id or folder)")
            model = self.model_class.from_backbone(backbone, **self.config_kwargs(preset, **overrides))
            return model, processor_for_backbone(backbone, whole_photo)
        model = self.model_class(self.make_config(preset, **overrides))
        side = model.config.image_size
        return model, HousePhotoProcessor(size={"height": side, "width": side})


MODELS: dict[str, Recipe] = {
    "cnn": Recipe(
        HouseCNNConfig,
        HouseCNNForImageClassification,
        presets={"default": {}, "tiny": {"image_size": 32, "conv_channels": [8, 16], "hidden_size": 32}},
        training_defaults={
            "learning_rate": 1e-4,
            "weight_decay": 0.0,
            "num_train_epochs": 5,
            "per_device_train_batch_size": 16,
            "train_photo_sampling": "first",
        },
    ),
    "vit-scratch": Recipe(
        MultiImageViTConfig,
        MultiImageViTForImageClassification,
        presets={
            "default": {},
            "tiny": {
                "image_size": 32,
                "patch_size": 4,
                "hidden_size": 64,
                "photo_num_layers": 2,
                "photo_num_heads": 4,
                "house_num_layers": 1,
                "house_num_heads": 4,
                "max_photos": 6,
            },
            "conv": {  # early convolutions: 64 tokens per photo cut from a 32x32 map of the CNN's two conv blocks
                "image_size": 128,
                "patch_size": 4,
                "conv_stem_channels": [32, 64],
                "hidden_size": 192,
                "photo_num_layers": 4,
                "photo_num_heads": 6,
                "house_num_heads": 6,
            },
            # 4 conv blocks with batch norm at 64 px and no attention: a photo is the mean of its 4x4 map's tokens,
            # a house the mean of its photo vectors
            "conv-bn": {
                "image_size": 64,
                "patch_size": 1,
                "conv_stem_channels": [32, 64, 128, 128],
                "conv_stem_batch_norm": True,
                "hidden_size": 128,
                "photo_num_layers": 0,
                "photo_num_heads": 4,
                "photo_pooling": "mean",
                "house_num_layers": 0,
                "classifier_dropout_prob": 0.3,
            },
        },
        training_defaults={
            "learning_rate": 3e-4,
            "weight_decay": 0.05,
            "warmup_steps": 0.1,
            "lr_scheduler_type": "cosine",
            "num_train_epochs": 30,
            "per_device_train_batch_size": 16,
            "train_photo_sampling": "random",
        },
    ),
    "vit-pretrained": Recipe(
        MultiImagePretrainedConfig,
        MultiImagePretrainedForImageClassification,
        presets={
            "default": {},
            "tiny": {"hidden_size": 32, "house_num_layers": 1, "house_num_heads": 2, "max_photos": 6},
        },
        training_defaults={
            "learning_rate": 1e-4,
            "backbone_learning_rate_scale": 0.1,
            "weight_decay": 0.01,
            "warmup_steps": 0.1,
            "lr_scheduler_type": "cosine",
            "num_train_epochs": 10,
            "per_device_train_batch_size": 8,
            "train_photo_sampling": "random",
        },
        uses_backbone=True,
    ),
}

__all__ = ["DEFAULT_BACKBONE", "MODELS", "Recipe"]
