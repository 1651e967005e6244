"""The project's models by name, with their presets and training defaults."""

from dataclasses import dataclass, field

from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModelForImageClassification,
    PreTrainedConfig,
    PreTrainedModel,
    ViTImageProcessor,
)

from ..data.transforms import house_image_processor, image_settings
from .configuration_house_cnn import HouseCNNConfig
from .configuration_multi_image_pretrained import MultiImagePretrainedConfig
from .configuration_multi_image_vit import MultiImageViTConfig
from .modeling_house_cnn import HouseCNNForImageClassification
from .modeling_multi_image_pretrained import MultiImagePretrainedForImageClassification
from .modeling_multi_image_vit import MultiImageViTForImageClassification

DEFAULT_BACKBONE = "google/vit-base-patch16-224-in21k"


@dataclass(frozen=True)
class ModelEntry:
    """A model of the project: its classes, named config presets, and how it is trained by default.

    `training_defaults` are defaults of `scripts/train.py` arguments (any flag given wins);
    `reads_all_photos`: the model attends over several photos per house; `uses_backbone`: its photo
    encoder comes from a pretrained checkpoint (`from_backbone`), whose image processor drives the inputs.
    """

    config_class: type[PreTrainedConfig]
    model_class: type[PreTrainedModel]
    presets: dict[str, dict] = field(default_factory=dict)
    training_defaults: dict = field(default_factory=dict)
    reads_all_photos: bool = False
    uses_backbone: bool = False

    def config_kwargs(self, preset: str = "default", **overrides) -> dict:
        if preset not in self.presets:
            raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(self.presets)}")
        return {**self.presets[preset], **overrides}

    def make_config(self, preset: str = "default", **overrides) -> PreTrainedConfig:
        return self.config_class(**self.config_kwargs(preset, **overrides))

    def build(
        self, preset: str = "default", backbone: str | None = None, **overrides
    ) -> tuple[PreTrainedModel, ViTImageProcessor]:
        """A new model and the image processor that goes with it: the backbone's size, mean and std for a
        model on a pretrained `backbone` (Hub id or folder), else the model's own image size."""
        if self.uses_backbone:
            if not backbone:
                raise ValueError(f"{self.model_class.__name__} needs a pretrained backbone (Hub id or folder)")
            model = self.model_class.from_backbone(backbone, **self.config_kwargs(preset, **overrides))
            size, mean, std = image_settings(AutoImageProcessor.from_pretrained(backbone))
        else:
            model = self.model_class(self.make_config(preset, **overrides))
            size, mean, std = (model.config.image_size,) * 2, [0.5] * 3, [0.5] * 3
        return model, house_image_processor(size, mean, std)

    def photos_read(self, config: PreTrainedConfig) -> int:
        """Most photos per house the model reads by default."""
        return config.max_photos if self.reads_all_photos else 1


MODELS: dict[str, ModelEntry] = {
    "cnn": ModelEntry(
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
    "vit-scratch": ModelEntry(
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
        reads_all_photos=True,
    ),
    "vit-pretrained": ModelEntry(
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
        reads_all_photos=True,
        uses_backbone=True,
    ),
}


def register_auto_classes() -> None:
    """Let `AutoConfig` / `AutoModelForImageClassification` resolve the project's model types in-process."""
    for entry in MODELS.values():
        AutoConfig.register(entry.config_class.model_type, entry.config_class, exist_ok=True)
        AutoModelForImageClassification.register(entry.config_class, entry.model_class, exist_ok=True)


__all__ = ["DEFAULT_BACKBONE", "MODELS", "ModelEntry", "register_auto_classes"]
