"""Tests of the multi-image ViT: masking, order invariance, attention outputs, loss, saving, Auto classes, learning."""

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from transformers import AutoConfig, AutoModelForImageClassification

from zillow_vit.models.configuration_multi_image_vit import MultiImageViTConfig
from zillow_vit.models.modeling_multi_image_vit import MultiImageViTBlock, MultiImageViTForImageClassification
from zillow_vit.models.tier_heads import HouseClassifierOutput

ID2LABEL = {0: "cheap", 1: "average", 2: "expensive"}


def tiny_config(**overrides) -> MultiImageViTConfig:
    settings = dict(
        image_size=16,
        patch_size=8,
        hidden_size=32,
        photo_num_layers=1,
        photo_num_heads=2,
        house_num_layers=2,
        house_num_heads=4,
        mlp_ratio=2.0,
        max_photos=4,
        id2label=ID2LABEL,
        label2id={v: k for k, v in ID2LABEL.items()},
    )
    return MultiImageViTConfig(**{**settings, **overrides})


@pytest.fixture
def model() -> MultiImageViTForImageClassification:
    """A random model whose attention is far from uniform (wide init), so order or padding would show."""
    torch.manual_seed(0)
    return MultiImageViTForImageClassification(tiny_config(initializer_range=0.5)).eval()


def photos(batch_size: int, num_photos: int) -> torch.Tensor:
    return torch.randn(batch_size, num_photos, 3, 16, 16)


@torch.no_grad()
def test_padding_is_masked_exactly(model):
    house = photos(1, 2)
    alone = model(house).logits

    # Batched with a house of 4 photos, the 2-photo house gets 2 padded slots.
    pixel_values = torch.cat([torch.cat([house, photos(1, 2)], dim=1), photos(1, 4)])
    photo_mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    encoded_counts = []
    model.photo_encoder.register_forward_hook(lambda module, args, out: encoded_counts.append(len(args[0])))
    batched = model(pixel_values, photo_mask).logits
    assert encoded_counts == [6]  # only real photos go through the photo encoder
    torch.testing.assert_close(batched[:1], alone, atol=1e-5, rtol=0)

    for filler in (torch.randn(2, 3, 16, 16), torch.full((2, 3, 16, 16), 1e6)):
        pixel_values[0, 2:] = filler
        torch.testing.assert_close(model(pixel_values, photo_mask.bool()).logits, batched, atol=1e-5, rtol=0)


@torch.no_grad()
def test_photo_order_does_not_matter(model):
    house = photos(1, 4)
    permuted = house[:, torch.tensor([2, 0, 3, 1])]
    torch.testing.assert_close(model(permuted).logits, model(house).logits, atol=1e-5, rtol=0)


@torch.no_grad()
def test_reads_only_the_first_max_photos(model):
    house = photos(1, 6)  # the model reads max_photos = 4
    torch.testing.assert_close(model(house).logits, model(house[:, :4]).logits, atol=1e-6, rtol=0)
    assert not torch.allclose(model(house).logits, model(house[:, 2:]).logits, atol=1e-3)


@torch.no_grad()
def test_attention_outputs(model):
    photo_mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    pixel_values = photos(3, 4)
    output = model(pixel_values, photo_mask, output_attentions=True, output_hidden_states=True)

    assert isinstance(output, HouseClassifierOutput)
    assert len(output.attentions) == model.config.house_num_layers
    assert all(weights.shape == (3, 4, 5, 5) for weights in output.attentions)
    padded_keys = ~photo_mask[:, None, None, :]
    assert all((weights[..., 1:] * padded_keys == 0).all() for weights in output.attentions)
    assert len(output.hidden_states) == model.config.house_num_layers + 1
    assert output.photo_attention.shape == (3, 4)
    assert (output.photo_attention[~photo_mask] == 0).all()
    assert (output.photo_attention[photo_mask] > 0).all()
    torch.testing.assert_close(output.photo_attention.sum(dim=-1), torch.ones(3))
    # The explicit-softmax path (with attentions) and the SDPA path give the same logits.
    torch.testing.assert_close(output.logits, model(pixel_values, photo_mask).logits, atol=1e-5, rtol=0)


@torch.no_grad()
def test_loss_is_cross_entropy(model):
    labels = torch.tensor([0, 2])
    output = model(photos(2, 3), labels=labels)
    torch.testing.assert_close(output.loss, F.cross_entropy(output.logits, labels))
    assert model(photos(2, 3)).loss is None


@torch.no_grad()
def test_save_and_load_round_trip(model, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = MultiImageViTForImageClassification.from_pretrained(tmp_path).eval()

    pixel_values, photo_mask = photos(2, 3), torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(loaded(pixel_values, photo_mask).logits, model(pixel_values, photo_mask).logits)
    for name in MultiImageViTConfig.__annotations__:
        assert getattr(loaded.config, name) == getattr(model.config, name), name
    assert loaded.config.id2label == ID2LABEL and loaded.config.num_labels == 3
    # Weight names on disk are the module's own (transformers renames nothing for this model type).
    with safe_open(tmp_path / "model.safetensors", "pt") as weights:
        assert set(weights.keys()) == set(model.state_dict())


def test_attention_implementations_and_gradient_checkpointing_as_transformers_offers_them(model, tmp_path, monkeypatch):
    """`attn_implementation="eager"` computes the same attention without SDPA; gradient checkpointing recomputes the
    blocks in the backward pass and gives the same gradients."""
    model.save_pretrained(tmp_path)
    pixel_values, photo_mask = photos(2, 3), torch.tensor([[1, 1, 0], [1, 1, 1]])
    loaded = {
        implementation: AutoModelForImageClassification.from_pretrained(tmp_path, attn_implementation=implementation)
        for implementation in ("sdpa", "eager")
    }
    with torch.no_grad():
        logits = {name: loaded[name].eval()(pixel_values, photo_mask).logits for name in loaded}
    torch.testing.assert_close(logits["eager"], logits["sdpa"])

    def no_sdpa(*args, **kwargs):
        raise AssertionError("SDPA called")

    monkeypatch.setattr(F, "scaled_dot_product_attention", no_sdpa)
    with torch.no_grad():
        loaded["eager"](pixel_values, photo_mask)
    monkeypatch.undo()

    def gradients(checkpointed: bool) -> dict:
        trained = MultiImageViTForImageClassification.from_pretrained(tmp_path).train()
        if checkpointed:
            trained.activation_checkpointing_enable()
            assert all(
                block.gradient_checkpointing for block in trained.modules() if isinstance(block, MultiImageViTBlock)
            )
        torch.manual_seed(0)  # the same dropout draws
        trained(pixel_values, photo_mask, labels=torch.tensor([0, 2])).loss.backward()
        return {name: parameter.grad for name, parameter in trained.named_parameters()}

    plain, checkpointed = gradients(False), gradients(True)
    assert all(torch.allclose(plain[name], checkpointed[name], atol=1e-6) for name in plain)


def test_auto_classes_load_the_model(model, tmp_path):
    AutoConfig.register("multi_image_vit", MultiImageViTConfig, exist_ok=True)
    AutoModelForImageClassification.register(MultiImageViTConfig, MultiImageViTForImageClassification, exist_ok=True)
    model.save_pretrained(tmp_path)
    assert type(AutoModelForImageClassification.from_pretrained(tmp_path)) is MultiImageViTForImageClassification


def toy_houses(num_houses: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Houses of up to 3 noise photos (the first always real); the label is the colour channel made bright in one
    random real photo, so a model that reads only the first photo gets about 0.6 right."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_houses) % 3
    pixel_values = 0.1 * torch.randn(num_houses, 3, 3, 16, 16, generator=generator)
    photo_mask = torch.rand(num_houses, 3, generator=generator) < 0.8
    photo_mask[:, 0] = True
    for house, label in enumerate(labels):
        real = photo_mask[house].nonzero().flatten()
        pixel_values[house, real[torch.randint(len(real), (), generator=generator)], label] += 1.0
    return pixel_values, photo_mask, labels


def test_tiny_model_learns_a_toy_task_and_generalises_to_new_houses():
    torch.manual_seed(0)
    config = tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0)
    model = MultiImageViTForImageClassification(config)
    pixel_values, photo_mask, labels = toy_houses(48, seed=1)

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(50):
        loss = model(pixel_values, photo_mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        if step == 0:  # every weight of both encoders and the head gets a gradient
            assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
        optimizer.step()

    held_out = toy_houses(90, seed=2)
    with torch.no_grad():
        predictions = model.eval()(held_out[0], held_out[1]).logits.argmax(dim=-1)
    assert (predictions == held_out[2]).float().mean() > 0.85


@pytest.mark.parametrize("settings", [dict(image_size=30, patch_size=8), dict(hidden_size=30, photo_num_heads=4)])
def test_invalid_config_raises(settings):
    with pytest.raises(ValueError):
        tiny_config(**settings)


@torch.no_grad()
def test_without_house_blocks_the_house_is_the_mean_of_its_real_photos():
    """house_num_layers=0: the house vector is the normed mean of the real photos' vectors (padding never read), each
    real photo gets an equal share of the attention, and there is no unused house token (DDP would refuse it)."""
    torch.manual_seed(0)
    model = MultiImageViTForImageClassification(tiny_config(house_num_layers=0, initializer_range=0.5)).eval()
    assert all(parameter.requires_grad for parameter in model.parameters())
    assert not any("house_token" in name for name, _ in model.named_parameters())
    pixel_values = photos(2, 3)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    output = model(pixel_values, mask, output_attentions=True)
    vectors = model.photo_encoder(pixel_values[0, :2])
    expected = model.classifier(model.house_encoder.norm(vectors.mean(dim=0, keepdim=True)), None)[0]
    torch.testing.assert_close(output.logits[:1], expected)
    padded = pixel_values.clone()
    padded[0, 2] = 100.0
    torch.testing.assert_close(model(padded, mask).logits, output.logits)
    torch.testing.assert_close(output.photo_attention, torch.tensor([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]))
