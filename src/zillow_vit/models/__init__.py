"""The project's models by name, with their presets and training defaults."""

from dataclasses import dataclass, field

from transformers import AutoConfig, AutoModelForImageClassification, PreTrainedConfig, PreTrainedModel

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
        presets={"default": {}, "tiny": {"hidden_size": 32, "house_num_layers": 1, "house_num_heads": 2, "max_photos": 6}},
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
