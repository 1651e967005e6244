"""Training pieces for `Trainer`: a lower learning rate for the pretrained body (decaying towards its input), linear
probing first, the body's batch-norm statistics kept, and the run's peak memory."""

import logging
import resource
import sys

import torch
from transformers import PreTrainedModel, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_pt_utils import get_parameter_names

logger = logging.getLogger(__name__)


def backbone_depths(backbone: torch.nn.Module) -> dict[str, int]:
    """Each parameter's depth in a pretrained body, counted from its input. A timm model (`TimmWrapperModel`) has its
    own stage grouping (`group_matcher(coarse=True)`: stem 0, then one depth per stage, e.g. EfficientNet's
    `blocks.3` or ResNet's `layer4`). Otherwise: 1 + the first number in the name (the block of
    `layers.7.mlp.fc1.weight`); 0 before the first numbered block (embeddings), and one more than the deepest block
    after it (final norm, pooler)."""
    timm_model = getattr(backbone, "timm_model", None)
    if timm_model is not None and hasattr(timm_model, "group_matcher"):
        from timm.models import group_parameters

        stages = group_parameters(timm_model, timm_model.group_matcher(coarse=True), reverse=True)
        return {f"timm_model.{name}": stage for name, stage in stages.items()}
    names = [name for name, _ in backbone.named_parameters()]
    blocks = [next((int(part) for part in name.split(".") if part.isdigit()), None) for name in names]
    top = max((block for block in blocks if block is not None), default=-1) + 2
    depths, seen_block = {}, False
    for name, block in zip(names, blocks):
        seen_block = seen_block or block is not None
        depths[name] = block + 1 if block is not None else (top if seen_block else 0)
    return depths


def backbone_optimizer(
    model: PreTrainedModel, args: TrainingArguments, backbone_lr_scale: float, layer_decay: float = 1.0
) -> torch.optim.Optimizer:
    """The optimizer `args.optim` names (AdamW by default, built as `Trainer` builds it) with the new layers at
    `learning_rate` and the pretrained `model.backbone` at `learning_rate * backbone_lr_scale`, times `layer_decay`
    per block below its top (layer-wise decay: its input end moves least); no weight decay on biases and norms. The
    Trainer still builds the schedule (warmup, decay). The new layers' groups come first: Trainer logs the first
    group's rate as `learning_rate`, which is then `--learning_rate`'s schedule."""
    decay = set(get_parameter_names(model, [torch.nn.LayerNorm, torch.nn.BatchNorm2d], ["bias"]))
    depths = backbone_depths(model.backbone)
    top = max(depths.values(), default=0)
    if layer_decay != 1 and top == 0:
        raise ValueError(
            f"Layer-wise decay {layer_decay}: no blocks found in the parameter names of the backbone "
            f"{type(model.backbone).__name__}, so every parameter would learn at one rate"
        )
    scales = {
        id(parameter): backbone_lr_scale * layer_decay ** (top - depths[name])
        for name, parameter in model.backbone.named_parameters()
    }
    groups = {}
    for name, parameter in model.named_parameters():
        key = (scales.get(id(parameter), 1.0), name in decay)
        groups.setdefault(key, []).append(parameter)
    optimizer_class, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    return optimizer_class(
        [
            {"params": params, "lr": args.learning_rate * scale, "weight_decay": args.weight_decay if decays else 0.0}
            for (scale, decays), params in sorted(groups.items(), key=lambda group: group[0][0] != 1.0)
        ],
        **optimizer_kwargs,
    )


def keep_in_eval_mode(module: torch.nn.Module, inputs) -> None:
    module.eval()


def freeze_batch_norm_statistics(module: torch.nn.Module) -> list:
    """Keeps every batch-norm layer of `module` in eval mode at each forward, so training leaves its running
    statistics as they were (its scale and shift still learn); the hooks' handles."""
    layers = [layer for layer in module.modules() if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm)]
    return [layer.register_forward_pre_hook(keep_in_eval_mode) for layer in layers]


class FreezeBackboneCallback(TrainerCallback):
    """Keeps the pretrained `model.backbone` frozen for the first `epochs` epochs (linear probing), then trains it too.

    Frozen means no gradients and eval mode at every forward (Trainer switches the model to train mode each
    step), so batch-norm statistics and dropout stay put as well.
    """

    def __init__(self, epochs: int):
        self.epochs = epochs
        self.eval_hook = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.epoch is None or state.epoch < self.epochs:
            model.backbone.requires_grad_(False)
            self.eval_hook = model.backbone.register_forward_pre_hook(keep_in_eval_mode)
            logger.info("Backbone frozen for the first %d epoch(s)", self.epochs)

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        if self.eval_hook is not None and round(state.epoch) >= self.epochs:
            model.backbone.requires_grad_(True)
            self.eval_hook.remove()
            self.eval_hook = None
            logger.info("Backbone unfrozen after epoch %d", self.epochs)


def weights_fingerprint(module: torch.nn.Module) -> list[float]:
    """A cheap summary of a module's weights and buffers (the float64 sum of each tensor): equal before and after
    training when training left them as they were."""
    return [
        tensor.detach().double().sum().item() for tensor in module.state_dict().values() if tensor.is_floating_point()
    ]


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return max_rss / (2**20 if sys.platform == "darwin" else 2**10)


def peak_memory_metrics() -> dict[str, float]:
    """`peak_rss_mib` and, on CUDA, the process's peak allocated GPU memory in MiB (`peak_gpu_memory_mib`): metrics
    of the run."""
    metrics = {"peak_rss_mib": peak_rss_mib()}
    if torch.cuda.is_available():
        metrics["peak_gpu_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return metrics
