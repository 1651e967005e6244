"""HouseCNN: the scratch CNN baseline, one photo per house."""

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init

from .configuration_house_cnn import HouseCNNConfig
from .house_inputs import encode_photos, photos_read
from .pipeline_house import HousePriceTierPipeline  # noqa: F401  (shipped with every save: config.custom_pipelines)
from .tier_heads import HouseClassifierOutput, TierHead


class HouseCNNPreTrainedModel(PreTrainedModel):
    config_class = HouseCNNConfig
    base_model_prefix = "house_cnn"
    main_input_name = "pixel_values"
    accepts_loss_kwargs = False

    def _init_weights(self, module):
        """He init for the ReLU layers, a small normal init for the output layer."""
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if module is self.classifier.dense:
                init.normal_(module.weight, std=self.config.initializer_range)
            else:
                init.kaiming_normal_(module.weight, nonlinearity="relu")
            init.zeros_(module.bias)


class HouseCNNForImageClassification(HouseCNNPreTrainedModel):
    """Conv blocks (3x3 conv, ReLU, 2x2 max-pool), flatten, dense + ReLU, then the tier head.

    Takes a house batch like every model of the project, `pixel_values` of shape (batch, photos, 3, H, W), and
    reads the first photo of each house (`config.max_photos` is 1); (batch, 3, H, W) is one photo per house.
    """

    def __init__(self, config: HouseCNNConfig):
        super().__init__(config)
        blocks, in_channels = [], config.num_channels
        for out_channels in config.conv_channels:
            blocks += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            in_channels = out_channels
        self.features = nn.Sequential(*blocks)
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(config.flat_features, config.hidden_size), nn.ReLU())
        self.classifier = TierHead(config.hidden_size, config.num_labels, config.head_type)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        photo_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> HouseClassifierOutput:
        if kwargs.get("fact_values") is not None or kwargs.get("fact_codes") is not None:
            raise ValueError("The CNN reads photos only; it takes no listing facts (fact_values, fact_codes).")
        return_dict = self.config.return_dict if return_dict is None else return_dict
        first_photo = photos_read(pixel_values, photo_mask, self.config.max_photos, self.dtype)[0][:, 0]
        side = self.config.image_size
        if first_photo.shape[-2:] != (side, side):
            raise ValueError(f"Photos are {tuple(first_photo.shape[-2:])} pixels; this model takes {(side, side)}.")
        features = encode_photos(
            lambda photos: self.hidden(self.features(photos)), first_photo, self.config.test_time_flip, self.training
        )
        logits, score, loss = self.classifier(features, labels)
        output = HouseClassifierOutput(loss=loss, logits=logits, score=score)
        return output if return_dict else output.to_tuple()


__all__ = ["HouseCNNForImageClassification", "HouseCNNPreTrainedModel"]
