#!/usr/bin/env python
"""Benchmark `Trainer` against a minimal PyTorch loop, and the input pipeline against tensors in memory.

    python scripts/bench_training.py                                  # cnn and vit-scratch, tiny presets
    python scripts/bench_training.py --preset default --models vit-pretrained \
        --pretrained_model_name_or_path checkpoints/efficientnet-lite0 --device cuda --bf16

For each model, three runs from the same initial weights, in this process, each `warmup_steps + measured_steps`
steps with AdamW at the same learning rate, the same gradient clipping and the same batches (the synthetic
houses in dataset order, full batches only):
- Trainer: `Trainer.train()` over the dataset with `set_transform` and `collate_houses` (the train.py pipeline);
- hand loop: forward, backward, clip, AdamW step over a plain `DataLoader` of the same dataset and collator;
- pre-made: the same hand loop over the same batches materialised in memory (on the device) first.
Time per step is the median interval between the ends of consecutive measured steps (data loading included).
Trainer overhead = Trainer / hand loop - 1; input pipeline share = (hand loop - pre-made) / hand loop.
"""

import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch.utils.data import DataLoader
from transformers import HfArgumentParser, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from dataset_builder import build_house_dataset
from zillow_vit.benchmarking import machine_summary, print_table
from zillow_vit.data import HouseTransform, collate_houses, train_photo_transform
from zillow_vit.recipes import MODELS


@dataclass
class BenchmarkArguments:
    models: list[str] = field(
        default_factory=lambda: list(MODELS), metadata={"help": "Models to time (vit-pretrained needs a backbone)."}
    )
    preset: str = field(default="tiny", metadata={"help": 'Config preset of every model ("tiny", "default").'})
    pretrained_model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "vit-pretrained backbone (local folder or Hub id); vit-pretrained is skipped without it."},
    )
    batch_size: int = field(default=16, metadata={"help": "Houses per batch."})
    warmup_steps: int = field(default=5, metadata={"help": "Steps run before timing starts."})
    measured_steps: int = field(default=30, metadata={"help": "Steps timed after the warm-up."})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (constant) of every run."})
    max_grad_norm: float = field(
        default=1.0, metadata={"help": "Gradient clipping of every run (Trainer's default; 0: none)."}
    )
    dataloader_num_workers: int = field(
        default=0, metadata={"help": "DataLoader worker processes of the real-data runs."}
    )
    num_houses: int = field(default=300, metadata={"help": "Synthetic houses built (80% land in the train split)."})
    synthetic_image_size: int = field(default=96, metadata={"help": "Side of the synthetic photos (px)."})
    dataset_cache_dir: str | None = field(default=None, metadata={"help": "Cache of the built synthetic dataset."})
    device: str = field(default="cpu", metadata={"help": "Where the models run.", "choices": ["cpu", "cuda"]})
    bf16: bool = field(default=False, metadata={"help": "bfloat16 autocast in every run (Trainer's --bf16)."})
    seed: int = field(default=0, metadata={"help": "Seed of the weights and of the synthetic houses."})


def synchronizer(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else lambda: None


def step_seconds(step_end_times: list[float], warmup_steps: int) -> float:
    """Median time between the ends of consecutive steps after the warm-up."""
    measured = step_end_times[warmup_steps - 1 :]
    return statistics.median(later - earlier for earlier, later in zip(measured, measured[1:]))


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


def batches_forever(loader: DataLoader) -> Iterator[dict]:
    """Epoch after epoch of `loader`, as Trainer does up to `max_steps`."""
    while True:
        yield from loader


def hand_loop_step_times(model, batches: Iterable[dict], steps: int, args: BenchmarkArguments) -> list[float]:
    """Forward, backward, clip, AdamW step on each batch; the time each step ended."""
    device = torch.device(args.device)
    synchronize = synchronizer(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    model.train()
    step_end_times = []
    for _, batch in zip(range(steps), batches):
        batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(**batch).loss
        loss.backward()
        if args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        synchronize()
        step_end_times.append(time.perf_counter())
    return step_end_times


def benchmark_model(name: str, train_split, label_names: list[str], args: BenchmarkArguments, output_dir: str) -> dict:
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    entry = MODELS[name]
    model, image_processor = entry.build(
        args.preset, backbone=args.pretrained_model_name_or_path, id2label=dict(enumerate(label_names))
    )
    model.to(device)
    train_split.set_transform(
        HouseTransform(train_photo_transform(image_processor), model.config.max_photos, sample_photos=True)
    )
    steps = args.warmup_steps + args.measured_steps
    loader = DataLoader(train_split, batch_size=args.batch_size, collate_fn=collate_houses, drop_last=True,
                        num_workers=args.dataloader_num_workers, pin_memory=device.type == "cuda")  # fmt: skip

    trainer_times = trainer_step_times(copy.deepcopy(model), train_split, args, output_dir)
    hand_times = hand_loop_step_times(copy.deepcopy(model), batches_forever(loader), steps, args)
    premade = [
        {key: value.to(device) for key, value in batch.items()}
        for _, batch in zip(range(steps), batches_forever(loader))
    ]
    premade_times = hand_loop_step_times(copy.deepcopy(model), premade, steps, args)

    trainer_s, hand_s, premade_s = (
        step_seconds(times, args.warmup_steps) for times in (trainer_times, hand_times, premade_times)
    )
    return {
        "model": name,
        "parameters_m": model.num_parameters() / 1e6,
        "photos_per_batch": sum(int(batch["photo_mask"].sum()) for batch in premade) / len(premade),
        "trainer_step_s": trainer_s,
        "hand_step_s": hand_s,
        "premade_step_s": premade_s,
        "trainer_samples_per_s": args.batch_size / trainer_s,
        "hand_samples_per_s": args.batch_size / hand_s,
        "trainer_overhead_pct": 100 * (trainer_s / hand_s - 1),
        "input_pipeline_pct": 100 * (hand_s - premade_s) / hand_s,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    (args,) = HfArgumentParser(BenchmarkArguments).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    unknown = set(args.models) - set(MODELS)
    if unknown:
        raise ValueError(f"Unknown models {sorted(unknown)}; choose among {sorted(MODELS)}")
    if args.warmup_steps < 1 or args.measured_steps < 2:
        raise ValueError("Need --warmup_steps >= 1 and --measured_steps >= 2.")
    print(f"Machine: {machine_summary(torch.device(args.device))}")
    print(f"Settings: {asdict(args)}")
    dataset, _ = build_house_dataset(
        "synthetic", cache_dir=args.dataset_cache_dir, num_houses=args.num_houses,
        synthetic_image_size=args.synthetic_image_size, seed=args.seed,
    )  # fmt: skip
    train_split = dataset["train"]
    if len(train_split) < args.batch_size:
        raise ValueError(f"The train split has {len(train_split)} houses, fewer than one batch of {args.batch_size}.")
    label_names = train_split.features["label"].names

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_training_") as output_dir:
        for name in args.models:
            if MODELS[name].uses_backbone and not args.pretrained_model_name_or_path:
                print(f"Skipping {name}: no --pretrained_model_name_or_path given.")
                continue
            rows.append(benchmark_model(name, train_split, label_names, args, output_dir))

    print(f"\nTraining step time, median over {args.measured_steps} steps after {args.warmup_steps} warm-up steps "
          f"({args.preset} preset, batch of {args.batch_size} houses{', bf16' if args.bf16 else ''})")  # fmt: skip
    print_table(rows, {"model": "{}", "parameters_m": "{:.2f}", "photos_per_batch": "{:.1f}", "trainer_step_s": "{:.4f}",
                       "hand_step_s": "{:.4f}", "premade_step_s": "{:.4f}", "trainer_samples_per_s": "{:.1f}",
                       "hand_samples_per_s": "{:.1f}", "trainer_overhead_pct": "{:+.1f}%", "input_pipeline_pct": "{:.1f}%"})  # fmt: skip
    print("trainer/hand: real data (set_transform + collate_houses + DataLoader); premade: the same batches already in memory.\n"
          "trainer_overhead_pct = trainer_step_s / hand_step_s - 1; input_pipeline_pct = (hand - premade) / hand.")  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
