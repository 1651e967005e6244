"""The project's models: what ships to the Hub (configurations, modeling files, heads, the image processor).

Importing this package (or `zillow_vit`) registers the models and their processor with the Auto classes, so
`AutoModelForImageClassification.from_pretrained(run)` and `AutoImageProcessor.from_pretrained(run)` work in-process
without `trust_remote_code`. How each model is trained (presets, defaults) lives in `zillow_vit.recipes`.
"""

from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification

from .configuration_house import HouseEncoderConfig, HouseTierConfig
from .configuration_house_cnn import HouseCNNConfig
from .configuration_multi_image_pretrained import MultiImagePretrainedConfig
from .configuration_multi_image_vit import MultiImageViTConfig
from .image_processing_house import HousePhotoProcessor
from .modeling_house_cnn import HouseCNNForImageClassification
from .modeling_multi_image_pretrained import MultiImagePretrainedForImageClassification, load_backbone
from .modeling_multi_image_vit import MultiImageViTForImageClassification, MultiPhotoHouseClassifier
from .tier_heads import HEAD_TYPES, HouseClassifierOutput

MODEL_CLASSES = {
    HouseCNNConfig: HouseCNNForImageClassification,
    MultiImageViTConfig: MultiImageViTForImageClassification,
    MultiImagePretrainedConfig: MultiImagePretrainedForImageClassification,
}


def register_auto_classes() -> None:
    """Let the Auto classes resolve the project's model types in-process (done once on import)."""
    for config_class, model_class in MODEL_CLASSES.items():
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModelForImageClassification.register(config_class, model_class, exist_ok=True)
        backends = {"torchvision": HousePhotoProcessor, "pil": HousePhotoProcessor}  # one class: PIL in, v2 inside
        AutoImageProcessor.register(config_class, image_processor_classes=backends, exist_ok=True)


register_auto_classes()

__all__ = [
    "HEAD_TYPES",
    "HouseCNNConfig",
    "HouseCNNForImageClassification",
    "HouseClassifierOutput",
    "HouseEncoderConfig",
    "HousePhotoProcessor",
    "HouseTierConfig",
    "MODEL_CLASSES",
    "MultiImagePretrainedConfig",
    "MultiImagePretrainedForImageClassification",
    "MultiImageViTConfig",
    "MultiImageViTForImageClassification",
    "MultiPhotoHouseClassifier",
    "load_backbone",
    "register_auto_classes",
]
