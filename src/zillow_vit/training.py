"""Training pieces for `Trainer`: a lower learning rate for the pretrained body, linear probing first, the body's
batch-norm statistics kept, and the run's peak memory."""

import logging
import resource
import sys

import torch
from transformers import TrainerCallback, TrainingArguments
from transformers.trainer_pt_utils import get_parameter_names

logger = logging.getLogger(__name__)


def backbone_optimizer(model: torch.nn.Module, args: TrainingArguments, backbone_lr_scale: float) -> torch.optim.AdamW:
    """AdamW with the pretrained `model.backbone` at `learning_rate * backbone_lr_scale` and the new layers at
    `learning_rate`; no weight decay on biases and norms. The Trainer still builds the schedule (warmup, decay)."""
    decay = set(get_parameter_names(model, [torch.nn.LayerNorm, torch.nn.BatchNorm2d], ["bias"]))
    backbone = {id(parameter) for parameter in model.backbone.parameters()}
    groups = {}
    for name, parameter in model.named_parameters():
        in_body = id(parameter) in backbone
        key = (in_body, name in decay)
        groups.setdefault(key, []).append(parameter)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "lr": args.learning_rate * (backbone_lr_scale if in_body else 1.0),
                "weight_decay": args.weight_decay if decays else 0.0,
            }
            for (in_body, decays), params in groups.items()
        ],
        lr=args.learning_rate,
        betas=(args.adam_beta1, args.adam_beta2),
        eps=args.adam_epsilon,
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
