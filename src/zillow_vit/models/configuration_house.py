"""Config fields every house model declares: what a trained run means to everyone who loads it.

`HouseTierConfig` (all three models): the photos read per house, the listing facts read beside them, the tier cut
points the labels came from and the head. `HouseEncoderConfig` adds the house stage of the multi-photo models (a transformer across a house's photo
vectors). Imported relatively by the configuration files, so it ships with them as Hub custom code.
"""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .listing_facts import check_listing_facts
from .tier_heads import check_head_type


@strict
class HouseTierConfig(PreTrainedConfig):
    r"""
    Args:
        max_photos (`int`, *optional*, defaults to 8):
            Photos of a house the model reads: the first `max_photos` in listing order at evaluation and prediction
            (training may draw a random subset of this size instead). The model's forward enforces it, so every
            caller reads the same photos; `scripts/train.py --max_photos N` sets it.
        listing_facts (`list[dict]`, *optional*, defaults to `[]`):
            The listing facts the model reads beside the photos, one token each in the house encoder, in this order.
            Per fact: `"name"` (its column in the dataset and its key in a house's `facts`), `"path"` (the dotted
            field of the listing export it is read from) and `"kind"`; a `"number"` has the `"mean"` and `"std"` it is
            standardised with and `"log"` (true: the statistics are of its logarithm, and a value <= 0 counts as
            missing); a `"category"` has its `"vocabulary"` (every other value is the unknown value). Statistics and
            vocabularies are of the training split, written by `scripts/train.py`; see `listing_facts.py`. Empty: a
            photos-only model. Only the multi-photo models read facts; the CNN refuses them.
        tier_cut_points (`list[float]`, *optional*):
            `[low, high]`: prices below `low` are "cheap", from `high` on "expensive", else "average". The terciles
            of the training split's prices, written by `scripts/train.py`; `None` for an untrained model.
        head_type (`str`, *optional*, defaults to `"classification"`):
            `"classification"` (one logit per tier) or `"score"` (one ordinal value in [0, 1]); see `tier_heads.py`.
        test_time_flip (`bool`, *optional*, defaults to `False`):
            Flip test-time augmentation: out of training, each photo's feature vector is the mean of the vectors of
            the photo and of its mirror image (training already flips photos at random). Costs a second pass of
            the photo encoder; changes nothing in training.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the (truncated) normal initialisation of the model's new weights.

    `num_labels` defaults to 3 (cheap, average, expensive); pass `id2label`/`label2id` to name the classes.
    """

    max_photos: int = 8
    listing_facts: list[dict] | None = None
    tier_cut_points: list[float] | None = None
    head_type: str = "classification"
    test_time_flip: bool = False
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        check_head_type(self.head_type)
        if self.max_photos < 1:
            raise ValueError(f"max_photos must be at least 1, got {self.max_photos}")
        self.listing_facts = check_listing_facts(self.listing_facts or [])
        if self.tier_cut_points is not None:
            self.tier_cut_points = [float(price) for price in self.tier_cut_points]
            if len(self.tier_cut_points) != 2 or not self.tier_cut_points[0] < self.tier_cut_points[1]:
                raise ValueError(f"tier_cut_points must be two increasing prices, got {self.tier_cut_points}")
        if self.id2label is None:
            self.num_labels = kwargs.pop("num_labels", 3)
        super().__post_init__(**kwargs)


@strict
class HouseEncoderConfig(HouseTierConfig):
    r"""
    Args:
        hidden_size (`int`, *optional*, defaults to 256):
            Width of the house encoder: each photo becomes one vector of this size.
        house_num_layers (`int`, *optional*, defaults to 2):
            Transformer blocks of the house encoder. 0: no attention, the house vector is the mean of the house's
            photo vectors (and fact tokens), the multi-photo twin of a linear probe on mean-pooled features.
        house_num_heads (`int`, *optional*, defaults to 8):
            Attention heads of the house encoder. Must divide `hidden_size`.
        mlp_ratio (`float`, *optional*, defaults to 4.0):
            Width of each block's MLP, as a multiple of `hidden_size`.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the output of each attention and MLP sub-layer (and on the photo vectors).
        attention_probs_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the attention weights.
        classifier_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the house vector before the head.
        layer_norm_eps (`float`, *optional*, defaults to 1e-6):
            Epsilon of every layer norm of the house stage.
    """

    hidden_size: int = 256
    house_num_layers: int = 2
    house_num_heads: int = 8
    mlp_ratio: float | int = 4.0
    hidden_dropout_prob: float | int = 0.1
    attention_probs_dropout_prob: float | int = 0.1
    classifier_dropout_prob: float | int = 0.1
    layer_norm_eps: float = 1e-6

    def __post_init__(self, **kwargs):
        if self.house_num_layers < 0:
            raise ValueError(f"house_num_layers must be at least 0, got {self.house_num_layers}")
        if self.hidden_size % self.house_num_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of house_num_heads ({self.house_num_heads})."
            )
        super().__post_init__(**kwargs)


__all__ = ["HouseEncoderConfig", "HouseTierConfig"]
