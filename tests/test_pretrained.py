"""vit-pretrained: a backbone checkpoint becomes the photo encoder, fine-tuned (or frozen first) through Trainer."""

import json

import pytest
import torch
import transformers
from PIL import Image
from transformers import (
    AutoImageProcessor,
    AutoModel,
    AutoModelForImageClassification,
    TimmWrapperConfig,
    TimmWrapperModel,
    TrainingArguments,
)

from zillow_vit import baselines
from zillow_vit.data import processor_for_backbone
from zillow_vit.models import load_backbone
from zillow_vit.recipes import MODELS
from zillow_vit.training import backbone_depths, backbone_optimizer

from conftest import load_script, write_tiny_timm_checkpoint, write_tiny_vit_checkpoint

ENTRY = MODELS["vit-pretrained"]


@pytest.fixture(scope="module")
def backbones(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backbones")
    return {"vit": write_tiny_vit_checkpoint(folder / "vit"), "timm": write_tiny_timm_checkpoint(folder / "timm")}


@pytest.fixture(params=["vit", "timm"])
def backbone(request, backbones):
    return backbones[request.param]


def encoder_state(path):
    return AutoModel.from_pretrained(path).state_dict()


def same_weights(state, other):
    return state.keys() == other.keys() and all(torch.equal(state[k], other[k]) for k in state)


def train(backbone, output_dir, *extra):
    """Trains through scripts/train.py; returns the weights the model had when Trainer got it, and the trained model."""
    script = load_script("train")
    initial = {}

    def recording_optimizer(model, *args):
        initial.update({name: tensor.detach().clone() for name, tensor in model.state_dict().items()})
        return backbone_optimizer(model, *args)

    script.backbone_optimizer = recording_optimizer
    script.main(
        [
            "--model",
            "vit-pretrained",
            "--preset",
            "tiny",
            "--pretrained_model_name_or_path",
            backbone,
            "--num_synthetic_houses",
            "45",
            "--synthetic_image_size",
            "32",
            "--num_train_epochs",
            "2",
            "--learning_rate",
            "1e-2",
            "--backbone_learning_rate_scale",
            "1.0",
            "--dataset_cache_dir",
            str(output_dir.parent / "cache"),
            "--output_dir",
            str(output_dir),
            "--disable_tqdm",
            "true",
            "--save_strategy",
            "no",
            "--load_best_model_at_end",
            "false",
            *extra,
        ]  # fmt: skip
    )
    return initial, ENTRY.model_class.from_pretrained(output_dir)


def part(state, prefix):
    return {name[len(prefix) :]: tensor for name, tensor in state.items() if name.startswith(prefix)}


BACKBONE_PREFIX = "photo_encoder.backbone."


def test_backbone_weights_are_loaded_and_new_layers_fresh(backbone):
    model = ENTRY.model_class.from_backbone(backbone, **ENTRY.config_kwargs("tiny"))
    assert same_weights(model.backbone.state_dict(), encoder_state(backbone))
    assert model.config.backbone == backbone
    output = model.eval()(torch.randn(2, 3, 3, 32, 32), photo_mask=torch.tensor([[1, 1, 1], [1, 0, 0]]).bool())
    assert output.logits.shape == (2, 3)


def test_backbone_stays_frozen_for_its_epochs_then_is_fine_tuned(backbone, tmp_path):
    """Frozen for epoch 1 of 2: at the end of epoch 1 the backbone (batch-norm statistics included) is the pretrained
    one while the new layers learned; in epoch 2 the backbone learns too. The saved config holds the backbone's."""
    run = tmp_path / "run"
    initial, trained = train(backbone, run, "--freeze_backbone_epochs", "1", "--save_strategy", "epoch")
    epoch_ends = sorted(run.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    assert [json.loads((c / "trainer_state.json").read_text())["epoch"] for c in epoch_ends] == [1.0, 2.0]
    after_frozen_epoch = ENTRY.model_class.from_pretrained(epoch_ends[0]).state_dict()

    assert same_weights(part(after_frozen_epoch, BACKBONE_PREFIX), encoder_state(backbone))
    assert not torch.equal(
        after_frozen_epoch["photo_encoder.projection.weight"], initial["photo_encoder.projection.weight"]
    )
    assert not same_weights(trained.backbone.state_dict(), encoder_state(backbone))
    assert trained.config.encoder.model_type in ("vit", "timm_wrapper")


def batch_norm_statistics(state):
    return {name: tensor for name, tensor in state.items() if name.endswith(BATCH_NORM_STATISTICS)}


BATCH_NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def test_frozen_batch_norm_keeps_the_backbones_statistics_while_its_weights_learn(backbones, tmp_path):
    """`--freeze_backbone_batch_norm`: after training, the timm backbone's batch-norm running statistics are the
    pretrained ones while its convolutions learned; without the flag the statistics move."""
    pretrained = encoder_state(backbones["timm"])
    _, kept = train(backbones["timm"], tmp_path / "kept", "--freeze_backbone_batch_norm", "true")
    _, moved = train(backbones["timm"], tmp_path / "moved")
    kept_state = kept.backbone.state_dict()
    assert batch_norm_statistics(pretrained)
    assert same_weights(batch_norm_statistics(kept_state), batch_norm_statistics(pretrained))
    assert not same_weights(batch_norm_statistics(moved.backbone.state_dict()), batch_norm_statistics(pretrained))
    assert not torch.equal(kept_state["timm_model.conv_stem.weight"], pretrained["timm_model.conv_stem.weight"])


@pytest.fixture(scope="module")
def one_step_run(backbones, tmp_path_factory):
    """One plain SGD-like Adam step with the backbone at a quarter of the learning rate (no warmup, no decay)."""
    run = tmp_path_factory.mktemp("one-step") / "run"
    initial, trained = train(backbones["vit"], run, "--max_steps", "1", "--backbone_learning_rate_scale", "0.25",
                             "--warmup_steps", "0", "--lr_scheduler_type", "constant", "--weight_decay", "0")  # fmt: skip
    return run, initial, trained.state_dict()


def largest_change(before, after):
    return max((after[name] - before[name]).abs().max().item() for name in before if before[name].is_floating_point())


def test_backbone_learns_at_its_scaled_learning_rate(one_step_run):
    """Adam's first step moves every weight with a gradient by the learning rate: 1e-2 for the new layers and
    0.25 * 1e-2 for the backbone."""
    _, initial, trained = one_step_run
    backbone_change = largest_change(part(initial, BACKBONE_PREFIX), part(trained, BACKBONE_PREFIX))
    new_layers = {name: tensor for name, tensor in initial.items() if not name.startswith(BACKBONE_PREFIX)}
    assert backbone_change == pytest.approx(0.25e-2, rel=1e-3)
    assert largest_change(new_layers, trained) == pytest.approx(1e-2, rel=1e-3)


@pytest.mark.parametrize(("optim", "optimizer_class"), [("adamw_torch", torch.optim.AdamW), ("sgd", torch.optim.SGD)])
def test_backbone_optimizer_groups(backbones, tmp_path, optim, optimizer_class):
    """Per-group rates and weight decay, in the optimizer `--optim` names, with its settings (`--adam_beta1`)."""
    model = ENTRY.model_class.from_backbone(backbones["vit"], **ENTRY.config_kwargs("tiny"))
    args = TrainingArguments(
        output_dir=str(tmp_path), learning_rate=1e-3, weight_decay=0.01, adam_beta1=0.8, optim=optim, use_cpu=True
    )
    optimizer = backbone_optimizer(model, args, 0.1)
    assert type(optimizer) is optimizer_class
    if optimizer_class is torch.optim.AdamW:
        assert optimizer.defaults["betas"] == (0.8, 0.999)
    backbone = {id(p) for p in model.backbone.parameters()}
    seen = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(seen) == sorted(id(p) for p in model.parameters())  # every weight once
    assert optimizer.param_groups[0]["lr"] == 1e-3  # the rate Trainer logs: --learning_rate's, not the backbone's
    names = {id(p): name for name, p in model.named_parameters()}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            assert group["lr"] == pytest.approx(1e-4 if id(parameter) in backbone else 1e-3), names[id(parameter)]
            no_decay = names[id(parameter)].endswith("bias") or parameter.dim() == 1
            assert group["weight_decay"] == (0.0 if no_decay else 0.01), names[id(parameter)]


def test_backbone_depths_count_blocks_from_the_input(backbones):
    vit = backbone_depths(AutoModel.from_pretrained(backbones["vit"]))
    assert vit["embeddings.patch_embeddings.projection.weight"] == vit["embeddings.cls_token"] == 0
    assert vit["layers.0.attention.q_proj.weight"] == 1 and vit["layers.1.mlp.fc2.bias"] == 2
    assert vit["layernorm.weight"] == vit["pooler.dense.bias"] == 3
    timm = backbone_depths(AutoModel.from_pretrained(backbones["timm"]))  # timm's stages: stem, blocks.i
    assert timm["timm_model.conv_stem.weight"] == 0 and timm["timm_model.blocks.0.0.conv.weight"] == 1
    assert timm["timm_model.blocks.4.0.conv_pw.weight"] == timm["timm_model.conv_head.weight"] == 5
    resnet = TimmWrapperModel(TimmWrapperConfig.from_dict({"architecture": "test_resnet"}, num_labels=3))
    resnet = backbone_depths(resnet)  # by stage (layerN), not by the block number within it (layerN.0)
    stages = [resnet[f"timm_model.layer{stage}.0.conv1.weight"] for stage in (1, 2, 3, 4)]
    assert resnet["timm_model.conv1.0.weight"] == 0 and stages == [1, 2, 3, 4]


def test_layer_decay_needs_blocks_in_the_backbone(tmp_path):
    model = torch.nn.Module()
    model.backbone = torch.nn.ModuleDict({"stem": torch.nn.Linear(2, 2), "head": torch.nn.Linear(2, 2)})
    model.classifier = torch.nn.Linear(2, 3)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True)
    with pytest.raises(ValueError, match="no blocks found in the parameter names of the backbone ModuleDict"):
        backbone_optimizer(model, args, 0.1, layer_decay=0.5)
    assert len(backbone_optimizer(model, args, 0.1).param_groups) > 1  # without decay, any backbone works


def test_layer_decay_moves_each_backbone_block_less_than_the_one_above(backbones, tmp_path):
    """One Adam step moves every weight with a gradient by its learning rate: 1e-2 for the new layers, 1e-2 * 0.5 for
    the backbone's last block and half as much for each block below it."""
    run = tmp_path / "run"
    initial, trained = train(backbones["timm"], run, "--max_steps", "1", "--backbone_learning_rate_scale", "0.5",
                             "--backbone_layer_decay", "0.5", "--warmup_steps", "0", "--lr_scheduler_type",
                             "constant", "--weight_decay", "0")  # fmt: skip
    before, after = part(initial, BACKBONE_PREFIX), part(trained.state_dict(), BACKBONE_PREFIX)
    depths = backbone_depths(trained.backbone)
    top = max(depths.values())
    moved = {}
    for name, depth in depths.items():
        moved.setdefault(depth, []).append((after[name] - before[name]).abs().max().item())
    assert sorted(moved) == list(range(top + 1))
    for depth, changes in moved.items():
        assert max(changes) == pytest.approx(0.5e-2 * 0.5 ** (top - depth), rel=1e-3), depth
    new_layers = {name: tensor for name, tensor in initial.items() if not name.startswith(BACKBONE_PREFIX)}
    assert largest_change(new_layers, trained.state_dict()) == pytest.approx(1e-2, rel=1e-3)


def test_image_processor_of_the_backbone_drives_the_inputs(one_step_run):
    saved = AutoImageProcessor.from_pretrained(one_step_run[0])
    assert list(saved.image_mean) == [0.4] * 3 and list(saved.image_std) == [0.2] * 3
    assert saved.size == {"height": 32, "width": 32} and saved.shortest_edge == 32


@pytest.fixture
def wide_model(backbone):
    """The model with new layers initialised wide, so attention far from uniform would show order or padding."""
    torch.manual_seed(0)
    return ENTRY.model_class.from_backbone(backbone, **ENTRY.config_kwargs("tiny", initializer_range=0.5)).eval()


@torch.no_grad()
def test_padding_is_masked_exactly(wide_model):
    house = torch.randn(1, 2, 3, 32, 32)
    alone = wide_model(house).logits
    pixel_values = torch.cat([torch.cat([house, torch.randn(1, 2, 3, 32, 32)], dim=1), torch.randn(1, 4, 3, 32, 32)])
    photo_mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    batched = wide_model(pixel_values, photo_mask).logits
    torch.testing.assert_close(batched[:1], alone, atol=1e-5, rtol=0)
    pixel_values[0, 2:] = 1e6
    torch.testing.assert_close(wide_model(pixel_values, photo_mask).logits, batched, atol=1e-5, rtol=0)
    assert not torch.allclose(batched[:1], wide_model(pixel_values[:1]).logits, atol=1e-3)  # unmasked, it would show


@torch.no_grad()
def test_photo_order_does_not_matter(wide_model):
    house = torch.randn(1, 4, 3, 32, 32)
    permuted = house[:, torch.tensor([2, 0, 3, 1])]
    torch.testing.assert_close(wide_model(permuted).logits, wide_model(house).logits, atol=1e-5, rtol=0)
    assert not torch.allclose(wide_model(house[:, :3]).logits, wide_model(house).logits, atol=1e-4)


def test_a_whole_photo_run_reads_and_saves_whole_photos(backbones, tmp_path):
    """`--whole_photo`: the run's processor (saved with it) reads a 3:2 photo whole, 1.5 times as wide as high, where
    the backbone's own processor takes its centre square; the model trains and evaluates at that size."""
    _, model = train(backbones["timm"], tmp_path / "run", "--whole_photo", "true")
    processor = AutoImageProcessor.from_pretrained(tmp_path / "run")
    assert processor.size == {"height": 32, "width": 48} and processor.shortest_edge == 32
    thirds = Image.new("RGB", (96, 64), (0, 0, 255))  # a 3:2 photo: red left third, blue elsewhere
    thirds.paste((255, 0, 0), (0, 0, 32, 64))
    whole = processor(thirds, return_tensors="pt")
    assert whole["pixel_values"].shape == (1, 1, 3, 32, 48)
    left, right = whole["pixel_values"][0, 0, 0, :, 2:14].mean(), whole["pixel_values"][0, 0, 0, :, -14:-2].mean()
    assert left > right
    with torch.no_grad():
        assert model(**whole).logits.shape == (1, 3)


def test_whole_photos_are_refused_for_a_backbone_of_fixed_input_size(backbones, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        train(backbones["vit"], tmp_path / "run", "--whole_photo", "true")
    error = capsys.readouterr().err
    assert refused.value.code == 2
    assert "--whole_photo: the backbone" in error and "cannot read 32 x 48 photos" in error


TINY_VIT = {"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 64}  # fmt: skip
TINY_TEXT = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
CROP = {"shortest_edge": 32}, {"height": 32, "width": 32}
HUB_FAMILIES = {  # (model, image processor, the part of its weights that encodes photos)
    "resnet": (  # pooled output (n, C, 1, 1)
        lambda: transformers.ResNetModel(
            transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])
        ),
        lambda: transformers.ConvNextImageProcessor(size=CROP[0]),
        "",
    ),
    "clip": (  # a vision-language model: its vision tower only
        lambda: transformers.CLIPModel(transformers.CLIPConfig(vision_config=TINY_VIT, text_config=TINY_TEXT)),
        lambda: transformers.CLIPImageProcessor(size=CROP[0], crop_size=CROP[1]),
        "vision_model.",
    ),
    "siglip": (
        lambda: transformers.SiglipModel(transformers.SiglipConfig(vision_config=TINY_VIT, text_config=TINY_TEXT)),
        lambda: transformers.SiglipImageProcessor(size=CROP[1]),
        "vision_model.",
    ),
    "mobilevit": (  # pooled width: the neck's last size, not hidden_sizes[-1]
        lambda: transformers.MobileViTModel(
            transformers.MobileViTConfig(image_size=32, hidden_sizes=[16] * 3, neck_hidden_sizes=[8] * 6 + [24])
        ),
        lambda: transformers.MobileViTImageProcessor(size=CROP[0], crop_size=CROP[1]),
        "",
    ),
    "pvt_v2": (  # no pooled output: the mean of its (n, C, H, W) map
        lambda: transformers.PvtV2Model(
            transformers.PvtV2Config(
                hidden_sizes=[8, 16],
                depths=[1, 1],
                num_encoder_blocks=2,
                sr_ratios=[2, 1],
                num_attention_heads=[1, 2],
                patch_sizes=[7, 3],
                strides=[4, 2],
                mlp_ratios=[2, 2],
            )
        ),  # fmt: skip
        lambda: transformers.ViTImageProcessor(size=CROP[1]),
        "",
    ),
    "mobilenet_v2": (  # no width field in its config
        lambda: transformers.MobileNetV2Model(transformers.MobileNetV2Config(image_size=32, depth_multiplier=0.25)),
        lambda: transformers.MobileNetV2ImageProcessor(size=CROP[0], crop_size=CROP[1]),
        "",
    ),
}


@pytest.mark.parametrize("family", sorted(HUB_FAMILIES))
def test_a_hub_backbone_of_another_family_becomes_the_photo_encoder(family, tmp_path):
    """Its image encoder's pretrained weights (a vision-language model's vision tower) encode each photo to one
    vector, in the model and in the probe alike; the house model saves and loads to equal outputs."""
    make_model, make_processor, tower = HUB_FAMILIES[family]
    torch.manual_seed(0)
    folder = str(tmp_path / family)
    make_model().save_pretrained(folder)
    make_processor().save_pretrained(folder)
    model = ENTRY.model_class.from_backbone(folder, **ENTRY.config_kwargs("tiny")).eval()
    assert same_weights(
        model.backbone.state_dict(), part(encoder_state(folder), tower) if tower else encoder_state(folder)
    )
    processor = processor_for_backbone(folder)
    photos = [[Image.new("RGB", (48, 32), (200, 30, 30)), Image.new("RGB", (48, 32), (30, 30, 200))]]
    inputs = processor(photos)
    logits = model(**inputs).logits
    assert logits.shape == (1, 3) and torch.isfinite(logits).all()
    model.save_pretrained(tmp_path / "house")
    processor.save_pretrained(tmp_path / "house")
    assert torch.equal(
        AutoModelForImageClassification.from_pretrained(tmp_path / "house").eval()(**inputs).logits, logits
    )
    with torch.no_grad():
        features = baselines.photo_features(load_backbone(folder).eval(), inputs["pixel_values"][0])
    assert features.shape == (2, model.photo_encoder.projection.in_features)


def test_a_vision_tower_that_does_not_load_alone_is_refused_by_name(tmp_path):
    """LLaVA's vision config is CLIP's, but its weights sit under other names: a CLIP tower of fresh weights is no
    pretrained backbone."""
    vision = {"model_type": "clip_vision_model", **TINY_VIT}
    text = {"model_type": "llama", **TINY_TEXT, "vocab_size": 100}
    config = transformers.LlavaConfig(vision_config=vision, text_config=text, image_token_index=99)
    transformers.LlavaForConditionalGeneration(config).save_pretrained(tmp_path / "llava")
    with pytest.raises(
        ValueError, match=r"llava: a llava model whose vision tower \(clip_vision_model\) does not load"
    ):
        ENTRY.model_class.from_backbone(str(tmp_path / "llava"), **ENTRY.config_kwargs("tiny"))


@pytest.mark.parametrize("house_num_layers", [0, 1])
def test_gradient_checkpointing_reaches_a_timm_backbones_blocks(backbones, house_num_layers):
    model = ENTRY.model_class.from_backbone(
        backbones["timm"], **ENTRY.config_kwargs("tiny", house_num_layers=house_num_layers)
    )
    model.activation_checkpointing_enable()
    assert model.backbone.timm_model.grad_checkpointing
    model.train()(torch.randn(2, 2, 3, 32, 32), labels=torch.tensor([0, 2])).loss.backward()
    model.activation_checkpointing_disable()
    assert not model.backbone.timm_model.grad_checkpointing
