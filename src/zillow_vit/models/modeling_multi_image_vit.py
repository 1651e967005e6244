"""Multi-image ViT: a ViT encodes each photo of a house, a transformer over the photo vectors classifies the house.

Reads top to bottom: patch embeddings, attention, MLP, block, photo encoder, house encoder (photo vectors and the
tokens of the listing facts, `listing_facts.py`), the multi-photo house classifier (shared with the pretrained-backbone
model, which passes in its own photo encoder), the scratch model. Self-contained apart from its config (imported relatively), so it can ship as Hub custom code.
"""

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_house import HouseEncoderConfig
from .configuration_multi_image_vit import MultiImageViTConfig
from .house_inputs import encode_photos, photos_read
from .listing_facts import ListingFactTokenizer
from .pipeline_house import HousePriceTierPipeline  # noqa: F401  (shipped with every save: config.custom_pipelines)
from .tier_heads import HouseClassifierOutput, TierHead


class MultiImageViTStemConv(nn.Conv2d):
    """A 3x3 convolution of the conv stem (followed by a ReLU, so initialised He-style)."""


class MultiImageViTConvStem(nn.Sequential):
    """Early convolutions (as in the scratch CNN): per entry of `conv_stem_channels` a 3x3 conv (with
    `conv_stem_batch_norm`, batch norm after it), ReLU and 2x2 max-pool, so the tokens start from local features
    instead of raw pixels (data-efficient on a few hundred houses)."""

    def __init__(self, config: MultiImageViTConfig):
        blocks, in_channels = [], config.num_channels
        norm = config.conv_stem_batch_norm
        for out_channels in config.conv_stem_channels:
            blocks.append(MultiImageViTStemConv(in_channels, out_channels, 3, padding=1, bias=not norm))
            blocks += [nn.BatchNorm2d(out_channels)] if norm else []
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
            in_channels = out_channels
        super().__init__(*blocks)


class MultiImageViTPatchEmbeddings(nn.Module):
    """Cuts photos `(n, channels, size, size)` into patches and projects them: `(n, num_patches, hidden_size)`; with
    `conv_stem_channels` the patches are cut from the conv stem's feature map."""

    def __init__(self, config: MultiImageViTConfig):
        super().__init__()
        self.image_size = config.image_size
        self.stem = MultiImageViTConvStem(config) if config.conv_stem_channels else nn.Identity()
        stem_channels = config.conv_stem_channels[-1] if config.conv_stem_channels else config.num_channels
        self.num_patches = (config.image_size // 2 ** len(config.conv_stem_channels or []) // config.patch_size) ** 2
        self.projection = nn.Conv2d(
            stem_channels, config.hidden_size, kernel_size=config.patch_size, stride=config.patch_size
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if pixel_values.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"Photos are {tuple(pixel_values.shape[-2:])} pixels; this model takes "
                f"({self.image_size}, {self.image_size})."
            )
        return self.projection(self.stem(pixel_values)).flatten(2).transpose(1, 2)


class MultiImageViTAttention(nn.Module):
    """Multi-head self-attention: SDPA, or an explicit softmax when the attention weights are asked for or the model
    is loaded with `attn_implementation="eager"` (the same attention)."""

    def __init__(self, config: HouseEncoderConfig, num_heads: int):
        super().__init__()
        self.config = config
        self.num_heads = num_heads
        self.head_dim = config.hidden_size // num_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.attention_dropout = config.attention_probs_dropout_prob
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`attention_mask`: bool, broadcastable to `(batch, heads, seq, seq)`, True where a key may be attended."""
        batch_size, seq_len, hidden_size = hidden_states.shape
        qkv = self.qkv(hidden_states).view(batch_size, seq_len, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, seq, head_dim)
        dropout_p = self.attention_dropout if self.training else 0.0
        if output_attentions or self.config._attn_implementation == "eager":
            scores = query @ key.transpose(-2, -1) * self.head_dim**-0.5
            if attention_mask is not None:
                scores = scores.masked_fill(~attention_mask, float("-inf"))
            weights = scores.softmax(dim=-1)
            context = F.dropout(weights, p=dropout_p, training=self.training) @ value
        else:
            weights = None
            context = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=dropout_p)
        context = context.transpose(1, 2).reshape(batch_size, seq_len, hidden_size)
        return self.dropout(self.proj(context)), weights


class MultiImageViTMLP(nn.Module):
    """Linear → GELU → dropout → Linear → dropout."""

    def __init__(self, config: HouseEncoderConfig):
        super().__init__()
        intermediate_size = int(config.hidden_size * config.mlp_ratio)
        self.fc1 = nn.Linear(config.hidden_size, intermediate_size)
        self.fc2 = nn.Linear(intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(self.dropout(F.gelu(self.fc1(hidden_states)))))


class MultiImageViTBlock(GradientCheckpointingLayer):
    """Pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x)). Used by both encoders; recomputed in
    the backward pass after `model.gradient_checkpointing_enable()`."""

    def __init__(self, config: HouseEncoderConfig, num_heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = MultiImageViTAttention(config, num_heads)
        self.norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = MultiImageViTMLP(config)

    def forward(
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attention_output, weights = self.attention(self.norm1(hidden_states), attention_mask, output_attentions)
        hidden_states = hidden_states + attention_output
        hidden_states = hidden_states + self.mlp(self.norm2(hidden_states))
        return hidden_states, weights


class MultiImageViTPhotoEncoder(nn.Module):
    """ViT over single photos: `(n, channels, size, size)` → final-norm photo vectors `(n, hidden_size)`: the [CLS]
    token's (`photo_pooling="cls"`) or the mean of the patch tokens (`"mean"`, no [CLS] token)."""

    def __init__(self, config: MultiImageViTConfig):
        super().__init__()
        self.patch_embeddings = MultiImageViTPatchEmbeddings(config)
        with_cls = config.photo_pooling == "cls"
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if with_cls else None
        self.position_embeddings = nn.Parameter(
            torch.zeros(1, self.patch_embeddings.num_patches + with_cls, config.hidden_size)
        )
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layers = nn.ModuleList(
            [MultiImageViTBlock(config, config.photo_num_heads) for _ in range(config.photo_num_layers)]
        )
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embeddings(pixel_values)
        if self.cls_token is not None:
            tokens = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        hidden_states = self.dropout(tokens + self.position_embeddings)
        for layer in self.layers:
            hidden_states, _ = layer(hidden_states)
        return self.norm(hidden_states[:, 0] if self.cls_token is not None else hidden_states.mean(dim=1))


class MultiImageViTHouseEncoder(nn.Module):
    """Transformer over a house's photo vectors (and fact tokens, after them) with a learned house token prepended and
    no position embedding over photos; without blocks (`house_num_layers=0`), the mean of those vectors."""

    def __init__(self, config: HouseEncoderConfig):
        super().__init__()
        self.house_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if config.house_num_layers else None
        self.layers = nn.ModuleList(
            [MultiImageViTBlock(config, config.house_num_heads) for _ in range(config.house_num_layers)]
        )
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(
        self,
        photo_vectors: torch.Tensor,
        photo_mask: torch.Tensor,
        fact_tokens: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
        """`photo_vectors` `(batch, photos, hidden)`, `photo_mask` `(batch, photos)` bool, `fact_tokens` `(batch,
        facts, hidden)` (always attended: a missing fact is a token of its own) → house vector (normed)."""
        batch_size = photo_vectors.shape[0]
        tokens, key_mask = [photo_vectors], [photo_mask]
        if fact_tokens is not None:
            tokens.append(fact_tokens)
            key_mask.append(photo_mask.new_ones(fact_tokens.shape[:2]))
        if self.house_token is None:
            vectors, real = torch.cat(tokens, dim=1), torch.cat(key_mask, dim=1).to(photo_vectors.dtype)[..., None]
            house_vector = self.norm((vectors * real).sum(dim=1) / real.sum(dim=1))
            return house_vector, (vectors,) if output_hidden_states else None, () if output_attentions else None
        hidden_states = torch.cat([self.house_token.expand(batch_size, -1, -1), *tokens], dim=1)
        key_mask = torch.cat([photo_mask.new_ones(batch_size, 1), *key_mask], dim=1)[:, None, None, :]
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for layer in self.layers:
            hidden_states, weights = layer(hidden_states, key_mask, output_attentions)
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
            if output_attentions:
                all_attentions += (weights,)
        return self.norm(hidden_states[:, 0]), all_hidden_states, all_attentions


class MultiPhotoHouseClassifier(PreTrainedModel):
    """A house read from its photos and listing facts: `photo_encoder` turns each *real* photo into a vector (any
    module with the interface `(n, channels, height, width)` → `(n, config.hidden_size)`; cost linear in the number of
    photos, padded slots never read), the fact tokenizer turns each of `config.listing_facts` into a token (none for a
    photos-only model), the house encoder attends across a house's photo vectors and fact tokens, the tier head decides.

    Both multi-photo models are this class with their own photo encoder passed in: a ViT from scratch
    ([`MultiImageViTForImageClassification`]) or a pretrained backbone ([`MultiImagePretrainedForImageClassification`]).
    """

    main_input_name = "pixel_values"
    input_modalities = ("image",)
    accepts_loss_kwargs = False
    _no_split_modules = ["MultiImageViTBlock"]
    _supports_sdpa = True
    supports_gradient_checkpointing = True

    def __init__(self, config: HouseEncoderConfig, photo_encoder: nn.Module):
        super().__init__(config)
        self.photo_encoder = photo_encoder
        self.fact_tokenizer = ListingFactTokenizer(config) if config.listing_facts else None
        self.house_encoder = MultiImageViTHouseEncoder(config)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = TierHead(config.hidden_size, config.num_labels, config.head_type)

    def _init_weights(self, module: nn.Module) -> None:
        """He init for the conv stem, truncated normal weights elsewhere, zero biases, unit layer and batch norms; a pretrained backbone inside the photo encoder is
        a `PreTrainedModel` of its own, which transformers initialises (or loads) with its own `_init_weights`."""
        std = self.config.initializer_range
        if isinstance(module, MultiImageViTStemConv):
            init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.Linear, nn.Conv2d)):
            init.trunc_normal_(module.weight, std=std)
            init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, nn.BatchNorm2d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            if isinstance(module, nn.BatchNorm2d):
                init.zeros_(module.running_mean)
                init.ones_(module.running_var)
                init.zeros_(module.num_batches_tracked)
        elif isinstance(module, MultiImageViTPhotoEncoder):
            if module.cls_token is not None:
                init.trunc_normal_(module.cls_token, std=std)
            init.trunc_normal_(module.position_embeddings, std=std)
        elif isinstance(module, MultiImageViTHouseEncoder) and module.house_token is not None:
            init.trunc_normal_(module.house_token, std=std)
        elif isinstance(module, ListingFactTokenizer):
            for weights in (module.field_embeddings, module.missing_embeddings, module.number_vectors):
                if weights is not None:
                    init.trunc_normal_(weights, std=std)
            if module.category_embeddings is not None:
                init.trunc_normal_(module.category_embeddings.weight, std=std)

    def save_pretrained(self, save_directory, *args, save_original_format: bool = False, **kwargs):
        """Saves the parameters under the names the live model has (`save_original_format=False`).

        transformers would otherwise rename the weights of a backbone it knows (a `ViTModel`'s `layers.0.attention.
        q_proj` back to `encoder.layer.0.attention.attention.query`); `from_pretrained` maps them back, but `Trainer`
        restores checkpoints (resume, `load_best_model_at_end`) with a plain non-strict `load_state_dict` and would
        silently keep the backbone it has."""
        return super().save_pretrained(save_directory, *args, save_original_format=save_original_format, **kwargs)

    def forward(
        self,
        pixel_values: torch.Tensor,
        photo_mask: torch.Tensor | None = None,
        fact_values: torch.Tensor | None = None,
        fact_codes: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> HouseClassifierOutput | tuple:
        r"""
        pixel_values (`torch.FloatTensor` of shape `(batch_size, num_photos, num_channels, height, width)`):
            Photos of each house, padded to a common `num_photos`. `(batch_size, num_channels, height, width)` is
            read as one photo per house. Only the first `config.max_photos` photo slots are read.
        photo_mask (`torch.BoolTensor` or 0/1 `torch.LongTensor` of shape `(batch_size, num_photos)`, *optional*):
            True (1) for a real photo, False (0) for padding. Only real photos are encoded, so padded slots cannot
            change the output. Defaults to all photos real.
        fact_values (`torch.FloatTensor` of shape `(batch_size, num_facts)`, *optional*):
            Each numeric fact of `config.listing_facts` as listed (not standardised; NaN: missing), 0 at category
            columns; `ListingFactEncoder` makes it from `{name: value}` dicts. Defaults to every fact missing.
        fact_codes (`torch.LongTensor` of shape `(batch_size, num_facts)`, *optional*):
            Each categorical fact's code: -1 missing, 0 outside the vocabulary, 1.. its place in the vocabulary; 0 at
            number columns. Defaults to every fact missing. A model without `listing_facts` refuses both.
        labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
            Tier of each house; gives the head's `loss` (see `tier_heads.py`).
        """
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        return_dict = self.config.return_dict if return_dict is None else return_dict
        pixel_values, photo_mask = photos_read(pixel_values, photo_mask, self.config.max_photos, self.dtype)
        batch_size, num_photos = photo_mask.shape

        real_photo_vectors = encode_photos(
            self.photo_encoder, pixel_values[photo_mask], self.config.test_time_flip, self.training
        )
        photo_vectors = real_photo_vectors.new_zeros(batch_size, num_photos, self.config.hidden_size)
        photo_vectors[photo_mask] = real_photo_vectors
        if self.fact_tokenizer is None:
            if fact_values is not None or fact_codes is not None:
                raise ValueError("This model reads no listing facts (config.listing_facts is empty); got fact inputs.")
            fact_tokens = None
        else:
            fact_tokens = self.fact_tokenizer(fact_values, fact_codes, batch_size)

        house_vector, hidden_states, attentions = self.house_encoder(
            photo_vectors, photo_mask, fact_tokens, output_attentions, output_hidden_states
        )
        logits, score, loss = self.classifier(self.dropout(house_vector), labels)
        photo_attention = fact_attention = None
        if output_attentions:  # what the house token read in the last block; without blocks, the mean's weights
            read = F.normalize(
                attentions[-1][:, :, 0, 1:].mean(dim=1)
                if attentions
                else torch.cat(
                    [photo_mask, photo_mask.new_ones(batch_size, len(self.config.listing_facts))], 1
                ).float(),
                p=1,
                dim=-1,
            )
            photo_attention = read[:, :num_photos]
            fact_attention = None if fact_tokens is None else read[:, num_photos:]

        output = HouseClassifierOutput(
            loss=loss,
            logits=logits,
            score=score,
            hidden_states=hidden_states,
            attentions=attentions,
            photo_attention=photo_attention,
            fact_attention=fact_attention,
        )
        return output if return_dict else output.to_tuple()


class MultiImageViTForImageClassification(MultiPhotoHouseClassifier):
    """Classifies houses from their photos: a ViT trained from scratch per real photo, house encoder, tier head."""

    config_class = MultiImageViTConfig
    base_model_prefix = "multi_image_vit"

    def __init__(self, config: MultiImageViTConfig):
        super().__init__(config, MultiImageViTPhotoEncoder(config))
        self.post_init()


__all__ = ["MultiImageViTForImageClassification", "MultiPhotoHouseClassifier"]
