"""vit-pretrained: a backbone checkpoint becomes the photo encoder, fine-tuned (or frozen) through Trainer."""

import pytest
import torch
from transformers import AutoImageProcessor, AutoModel, TimmWrapperConfig, TimmWrapperModel

from zillow_vit.models.tier_heads import TierHead
from zillow_vit.recipes import MODELS

from conftest import load_script, write_tiny_vit_checkpoint

ENTRY = MODELS["vit-pretrained"]


def make_timm_checkpoint(folder):
    torch.manual_seed(0)
    pretrained_cfg = {"input_size": (3, 32, 32), "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5), "num_classes": 0}
    config = TimmWrapperConfig.from_dict(
        {"architecture": "test_efficientnet", "pretrained_cfg": pretrained_cfg}, num_labels=3
    )
    TimmWrapperModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(params=["vit", "timm"])
def backbone(request, tmp_path):
    make = write_tiny_vit_checkpoint if request.param == "vit" else make_timm_checkpoint
    return make(tmp_path / f"{request.param}-backbone")


def encoder_state(path):
    return AutoModel.from_pretrained(path).state_dict()


def train(backbone, output_dir, *extra):
    load_script("train").main(
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
    return ENTRY.model_class.from_pretrained(output_dir)


def same_weights(state, other):
    return state.keys() == other.keys() and all(torch.equal(state[k], other[k]) for k in state)


def test_backbone_weights_are_loaded_and_new_layers_fresh(backbone):
    model = ENTRY.model_class.from_backbone(backbone, **ENTRY.config_kwargs("tiny"))
    assert same_weights(model.backbone.state_dict(), encoder_state(backbone))
    assert model.config.backbone == backbone
    output = model.eval()(torch.randn(2, 3, 3, 32, 32), photo_mask=torch.tensor([[1, 1, 1], [1, 0, 0]]).bool())
    assert output.logits.shape == (2, 3)


def test_fine_tuning_changes_the_backbone_and_saves_its_config(backbone, tmp_path):
    trained = train(backbone, tmp_path / "run")
    assert not same_weights(trained.backbone.state_dict(), encoder_state(backbone))
    assert trained.config.encoder.model_type in ("vit", "timm_wrapper")
    assert (tmp_path / "run" / "preprocessor_config.json").exists()


def test_frozen_backbone_stays_equal_while_the_head_learns(backbone, tmp_path):
    fresh = ENTRY.model_class.from_backbone(backbone, **ENTRY.config_kwargs("tiny"))
    trained = train(backbone, tmp_path / "run", "--freeze_backbone_epochs", "2")
    assert same_weights(trained.backbone.state_dict(), encoder_state(backbone))
    assert not torch.equal(trained.photo_encoder.projection.weight, fresh.photo_encoder.projection.weight)


def test_image_processor_of_the_backbone_drives_the_inputs(tmp_path):
    backbone = write_tiny_vit_checkpoint(tmp_path / "vit-backbone")
    train(backbone, tmp_path / "run", "--max_steps", "1")
    saved = AutoImageProcessor.from_pretrained(tmp_path / "run")
    assert list(saved.image_mean) == [0.4] * 3 and list(saved.image_std) == [0.2] * 3
    assert saved.size == {"height": 32, "width": 32} and saved.shortest_edge == 32


@pytest.mark.parametrize(
    ("score", "tier"), [(0.0, 0), (0.1, 0), (0.24, 0), (0.26, 1), (0.5, 1), (0.74, 1), (0.76, 2), (0.9, 2), (1.0, 2)]
)
def test_score_head_reads_tiers_by_thresholds(score, tier):
    head = TierHead(4, 3, "score")
    with torch.no_grad():
        head.dense.weight.zero_()
        head.dense.bias.fill_(torch.logit(torch.tensor(score)).clamp(-30, 30).item())
    logits, predicted_score, _ = head(torch.zeros(1, 4))
    assert predicted_score.item() == pytest.approx(score, abs=1e-6)
    assert logits.argmax(-1).item() == tier


def test_score_head_loss_is_smallest_at_the_tier_target():
    head = TierHead(1, 3, "score")
    losses = []
    for score in torch.linspace(0.01, 0.99, 99):
        with torch.no_grad():
            head.dense.weight.zero_()
            head.dense.bias.fill_(torch.logit(score).item())
        losses.append(head(torch.zeros(1, 1), labels=torch.tensor([1]))[2].item())
    assert abs(torch.linspace(0.01, 0.99, 99)[int(torch.tensor(losses).argmin())].item() - 0.5) < 0.011
