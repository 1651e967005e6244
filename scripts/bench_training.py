#!/usr/bin/env python
"""Trainer against a minimal PyTorch loop at identical settings, in interleaved paired repeats.

    python scripts/bench_training.py                        # all three models, tiny presets, random micro ViT backbone
    python scripts/bench_training.py --preset default --models cnn vit-scratch --repeats 8
    python scripts/bench_training.py --models vit-pretrained --preset default \
        --pretrained_model_name_or_path checkpoints/efficientnet-lite0 --device cuda --bf16

For each model, `repeats` pairs of runs, each from the same initial weights over the same batches (the synthetic
houses in dataset order through `set_transform` + `collate_houses` + a DataLoader, full batches only, the same
seed), each `warmup_steps + measured_steps` steps of AdamW at a constant learning rate with the same gradient
clipping and precision:
- Trainer: `Trainer.train()` (the train.py pipeline);
- hand loop: forward, backward, clip, AdamW step over a plain `DataLoader` of the same dataset and collator.
The two runs of a pair alternate in order (Trainer first in even pairs), so a slow drift of the machine's load hits
both alike. A run's step time is the mean over its measured steps (data loading included); the Trainer/hand-loop
ratio is the geometric mean of the pairs' ratios with a 95 % confidence interval (Student's t on the log ratios).
vit-pretrained runs on `--pretrained_model_name_or_path`, else on a randomly initialised ViT of `--random_backbone`
size saved to a temporary folder.
"""

import copy
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch.utils.data import DataLoader
from transformers import (
    HfArgumentParser,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from dataset_builder import build_house_dataset
from zillow_vit.benchmarking import (
    RANDOM_VITS,
    batches_forever,
    load_summary,
    machine_summary,
    print_table,
    ratio_interval,
    save_random_vit,
    synchronizer,
    training_step,
)
from zillow_vit.data import HouseTransform, collate_houses, train_photo_transform
from zillow_vit.recipes import MODELS


@dataclass
class BenchmarkArguments:
    models: list[str] = field(default_factory=lambda: list(MODELS), metadata={"help": "Models to time."})
    preset: str = field(default="tiny", metadata={"help": 'Config preset of every model ("tiny", "default").'})
    pretrained_model_name_or_path: str | None = field(
        default=None, metadata={"help": "vit-pretrained backbone (local folder or Hub id); default: a random ViT."}
    )
    random_backbone: str = field(
        default="micro",
        metadata={
            "help": "Size of the random ViT backbone used without a pretrained one.",
            "choices": list(RANDOM_VITS),
        },
    )
    batch_size: int = field(default=16, metadata={"help": "Houses per batch."})
    warmup_steps: int = field(default=3, metadata={"help": "Steps of each run before timing starts."})
    measured_steps: int = field(default=20, metadata={"help": "Steps timed in each run after the warm-up."})
    repeats: int = field(default=6, metadata={"help": "Pairs of runs (Trainer, hand loop) per model."})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (constant) of every run."})
    max_grad_norm: float = field(
        default=1.0, metadata={"help": "Gradient clipping of every run (Trainer's default; 0: none)."}
    )
    dataloader_num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes of every run."})
    num_synthetic_houses: int = field(default=300, metadata={"help": "Synthetic houses built (80% train)."})
    synthetic_image_size: int = field(default=96, metadata={"help": "Side of the synthetic photos (px)."})
    dataset_cache_dir: str | None = field(default=None, metadata={"help": "Cache of the built synthetic dataset."})
    device: str = field(default="cpu", metadata={"help": "Where the models run.", "choices": ["cpu", "cuda"]})
    bf16: bool = field(default=False, metadata={"help": "bfloat16 autocast in every run (Trainer's --bf16)."})
    torch_threads: int | None = field(
        default=None, metadata={"help": "torch's CPU threads (1 resists other load on shared cores); default: torch's."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the weights, the synthetic houses and the augmentation."})


def mean_step_seconds(step_end_times: list[float], warmup_steps: int) -> float:
    """Mean time per step from the end of the warm-up to the end of the last step."""
    measured = step_end_times[warmup_steps - 1 :]
    return (measured[-1] - measured[0]) / (len(measured) - 1)


class StepClock(TrainerCallback):
    """Records when each optimizer step of `Trainer.train()` ends (after the device finished it)."""

    def __init__(self, synchronize: Callable[[], None]):
        self.synchronize = synchronize
        self.step_end_times = []

    def on_step_end(self, args, state, control, **kwargs):
        self.synchronize()
        self.step_end_times.append(time.perf_counter())


def trainer_step_times(model, train_dataset, args: BenchmarkArguments, output_dir: str) -> list[float]:
    training_args = TrainingArguments(
        output_dir=output_dir, max_steps=args.warmup_steps + args.measured_steps,
        per_device_train_batch_size=args.batch_size, learning_rate=args.learning_rate,
        lr_scheduler_type="constant", max_grad_norm=args.max_grad_norm, use_cpu=args.device == "cpu", bf16=args.bf16,
        train_sampling_strategy="sequential", dataloader_drop_last=True,
        dataloader_num_workers=args.dataloader_num_workers, dataloader_pin_memory=args.device == "cuda",
        remove_unused_columns=False, report_to="none", save_strategy="no", eval_strategy="no",
        logging_strategy="no", disable_tqdm=True, seed=args.seed,
    )  # fmt: skip
    clock = StepClock(synchronizer(torch.device(args.device)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    trainer = Trainer(
        model=model, args=training_args, train_dataset=train_dataset, data_collator=collate_houses,
        optimizers=(optimizer, None), callbacks=[clock],
    )  # fmt: skip
    trainer.remove_callback(PrinterCallback)  # disable_tqdm would print Trainer's own end-of-training figures
    trainer.train()
    return clock.step_end_times


def hand_loop_step_times(model, batches: Iterable[dict], steps: int, args: BenchmarkArguments) -> list[float]:
    """Forward, backward, clip, AdamW step on each batch; the time each step ended."""
    device = torch.device(args.device)
    synchronize = synchronizer(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    model.train()
    step_end_times = []
    for _, batch in zip(range(steps), batches):
        batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
        training_step(model, optimizer, batch, args.bf16, args.max_grad_norm)
        synchronize()
        step_end_times.append(time.perf_counter())
    return step_end_times


def hand_loop_run(model, train_split, args: BenchmarkArguments) -> float:
    device = torch.device(args.device)
    set_seed(args.seed)  # as Trainer does, so both runs draw the same augmentation
    loader = DataLoader(train_split, batch_size=args.batch_size, collate_fn=collate_houses, drop_last=True,
                        num_workers=args.dataloader_num_workers, pin_memory=device.type == "cuda")  # fmt: skip
    steps = args.warmup_steps + args.measured_steps
    return mean_step_seconds(hand_loop_step_times(model, batches_forever(loader), steps, args), args.warmup_steps)


def trainer_run(model, train_split, args: BenchmarkArguments, output_dir: str) -> float:
    return mean_step_seconds(trainer_step_times(model, train_split, args, output_dir), args.warmup_steps)


def benchmark_model(name: str, train_split, backbone: str | None, args: BenchmarkArguments, output_dir: str) -> dict:
    torch.manual_seed(args.seed)
    label_names = train_split.features["label"].names
    model, image_processor = MODELS[name].build(args.preset, backbone=backbone, id2label=dict(enumerate(label_names)))
    model.to(args.device)
    train_split.set_transform(
        HouseTransform(train_photo_transform(image_processor), model.config.max_photos, sample_photos=True)
    )
    runs = {
        "trainer": lambda: trainer_run(copy.deepcopy(model), train_split, args, output_dir),
        "hand": lambda: hand_loop_run(copy.deepcopy(model), train_split, args),
    }
    pairs = []
    for repeat in range(args.repeats):
        order = ["trainer", "hand"] if repeat % 2 == 0 else ["hand", "trainer"]
        pairs.append({kind: runs[kind]() for kind in order})
    ratios = [pair["trainer"] / pair["hand"] for pair in pairs]
    ratio, low, high = ratio_interval(ratios)
    return {
        "model": name,
        "parameters_m": model.num_parameters() / 1e6,
        "trainer_step_ms": 1000 * min(pair["trainer"] for pair in pairs),
        "hand_step_ms": 1000 * min(pair["hand"] for pair in pairs),
        "overhead_pct": 100 * (ratio - 1),
        "ci_low_pct": 100 * (low - 1),
        "ci_high_pct": 100 * (high - 1),
        "pair_min_pct": 100 * (min(ratios) - 1),
        "pair_max_pct": 100 * (max(ratios) - 1),
        "pairs": len(pairs),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    (args,) = HfArgumentParser(BenchmarkArguments, description=__doc__).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    unknown = set(args.models) - set(MODELS)
    if unknown:
        raise ValueError(f"Unknown models {sorted(unknown)}; choose among {sorted(MODELS)}")
    if args.warmup_steps < 1 or args.measured_steps < 1 or args.repeats < 1:
        raise ValueError("Need --warmup_steps, --measured_steps and --repeats of at least 1.")
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    print(f"Machine: {machine_summary(torch.device(args.device))}")
    print(f"Settings: {asdict(args)}")
    print(f"Before: {load_summary()}")
    dataset, _ = build_house_dataset(
        "synthetic", cache_dir=args.dataset_cache_dir, num_synthetic_houses=args.num_synthetic_houses,
        synthetic_image_size=args.synthetic_image_size, split_seed=args.seed,
    )  # fmt: skip
    train_split = dataset["train"]
    if len(train_split) < args.batch_size:
        raise ValueError(f"The train split has {len(train_split)} houses, fewer than one batch of {args.batch_size}.")

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_training_") as output_dir:
        backbone = args.pretrained_model_name_or_path or save_random_vit(
            os.path.join(output_dir, "backbone"), args.random_backbone, args.seed
        )
        for name in args.models:
            rows.append(benchmark_model(name, train_split, backbone, args, output_dir))
    print(f"After: {load_summary()}")

    print(f"\nTrainer / hand loop, {args.repeats} interleaved pairs of {args.measured_steps} steps after {args.warmup_steps} "
          f"warm-up ({args.preset} preset, batch of {args.batch_size} houses{', bf16' if args.bf16 else ''}, "
          f"{args.dataloader_num_workers} workers, clipping {args.max_grad_norm})")  # fmt: skip
    print_table(rows, {"model": "{}", "parameters_m": "{:.2f}", "trainer_step_ms": "{:.1f}", "hand_step_ms": "{:.1f}",
                       "overhead_pct": "{:+.1f}%", "ci_low_pct": "{:+.1f}%", "ci_high_pct": "{:+.1f}%",
                       "pair_min_pct": "{:+.1f}%", "pair_max_pct": "{:+.1f}%", "pairs": "{}"})  # fmt: skip
    print("step_ms: the fastest run's mean step time; overhead_pct: geometric mean of Trainer/hand-loop step time over\n"
          "the pairs, minus 1, with its 95% confidence interval (ci_*) and the smallest and largest pair (pair_*).")  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
