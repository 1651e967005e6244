#!/usr/bin/env python
"""How the training step of a multi-photo model grows with the number of photos per house.

    python scripts/bench_photo_scaling.py                                   # vit-scratch, default preset, CPU
    python scripts/bench_photo_scaling.py --model vit-pretrained --pretrained_model_name_or_path \
        checkpoints/efficientnet-lite0 --device cuda --bf16 --batch_size 16

For each photo count (ascending), a fixed batch of houses with that many real photos each (random pixels of
the model's input size): forward + backward + AdamW step, median over `repeats` timed steps after
`warmup_steps`. Each photo is encoded on its own, so step time should grow about linearly in the photo count
(ratio about 2 per doubling); the house encoder's attention over photos adds a small quadratic term.
Peak memory growth is measured against the memory held before the first step (the model's weights), so it
includes gradients and AdamW state: on CUDA `max_memory_allocated` of each count's steps; on CPU the process's
peak RSS, which only ever grows, so each count's figure is the peak up to it (counts run ascending).
"""

import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

import psutil
import torch
from transformers import HfArgumentParser

from zillow_vit.benchmarking import machine_summary, print_table
from zillow_vit.recipes import MODELS
from zillow_vit.training import peak_rss_mib

MULTI_PHOTO_MODELS = [name for name, recipe in MODELS.items() if recipe.make_config().max_photos > 1]


@dataclass
class BenchmarkArguments:
    model: str = field(
        default="vit-scratch", metadata={"help": "Multi-photo model to time.", "choices": MULTI_PHOTO_MODELS}
    )
    preset: str = field(default="default", metadata={"help": 'Config preset ("default", "tiny").'})
    pretrained_model_name_or_path: str | None = field(
        default=None, metadata={"help": "vit-pretrained: backbone (local folder or Hub id); required for it."}
    )
    batch_size: int = field(default=4, metadata={"help": "Houses per batch (fixed for every photo count)."})
    photo_counts: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16], metadata={"help": "Photos per house."})
    warmup_steps: int = field(default=2, metadata={"help": "Untimed steps at each photo count."})
    repeats: int = field(default=5, metadata={"help": "Timed steps at each photo count (median reported)."})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate."})
    device: str = field(default="cpu", metadata={"help": "Where the model runs.", "choices": ["cpu", "cuda"]})
    bf16: bool = field(default=False, metadata={"help": "bfloat16 autocast."})
    seed: int = field(default=0, metadata={"help": "Seed of the weights and inputs."})


class PeakMemory:
    """Peak memory above a baseline taken at creation: CUDA allocations, or the process's peak RSS on CPU."""

    def __init__(self, device: torch.device):
        self.device = device
        if device.type == "cuda":
            self.baseline = torch.cuda.memory_allocated(device)
        else:
            self.baseline = psutil.Process().memory_info().rss

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def growth_mib(self) -> float:
        if self.device.type == "cuda":
            return (torch.cuda.max_memory_allocated(self.device) - self.baseline) / 2**20
        return peak_rss_mib() - self.baseline / 2**20


def step_times(model, optimizer, batch: dict, steps: int, bf16: bool) -> list[float]:
    """Seconds of each forward + backward + optimizer step on the same batch."""
    device = batch["pixel_values"].device
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> list[dict]:
    (args,) = HfArgumentParser(BenchmarkArguments, description=__doc__).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    device = torch.device(args.device)
    print(f"Machine: {machine_summary(device)}")
    print(f"Settings: {asdict(args)}")
    torch.manual_seed(args.seed)
    model, image_processor = MODELS[args.model].build(args.preset, backbone=args.pretrained_model_name_or_path)
    height, width = image_processor.crop_size
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    memory = PeakMemory(device)

    rows = []
    for count in sorted(args.photo_counts):
        batch = {
            "pixel_values": torch.randn(args.batch_size, count, 3, height, width, device=device),
            "photo_mask": torch.ones(args.batch_size, count, dtype=torch.bool, device=device),
            "labels": torch.randint(0, model.config.num_labels, (args.batch_size,), device=device),
        }
        memory.reset()
        step_times(model, optimizer, batch, args.warmup_steps, args.bf16)
        seconds = statistics.median(step_times(model, optimizer, batch, args.repeats, args.bf16))
        previous = rows[-1] if rows else None
        rows.append({
            "photos_per_house": count,
            "photos_per_step": count * args.batch_size,
            "step_s": seconds,
            "ms_per_photo": 1000 * seconds / (count * args.batch_size),
            "photo_ratio": count / previous["photos_per_house"] if previous else None,
            "step_ratio": seconds / previous["step_s"] if previous else None,
            "peak_memory_growth_mib": memory.growth_mib(),
        })  # fmt: skip
        del batch

    print(f"\n{args.model} ({args.preset} preset, {model.num_parameters() / 1e6:.2f} M parameters), {height}x{width} photos, "
          f"batch of {args.batch_size} houses{', bf16' if args.bf16 else ''}: median of {args.repeats} steps after {args.warmup_steps} warm-up")  # fmt: skip
    print_table(rows, {"photos_per_house": "{}", "photos_per_step": "{}", "step_s": "{:.4f}", "ms_per_photo": "{:.2f}",
                       "photo_ratio": "{:.1f}", "step_ratio": "{:.2f}", "peak_memory_growth_mib": "{:.1f}"})  # fmt: skip
    print("step_ratio: step time over the previous count's (linear growth: equal to photo_ratio).\n"
          "peak_memory_growth_mib: " + ("max_memory_allocated per count" if device.type == "cuda" else "process peak RSS so far")
          + " minus the memory held before the first step.")  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
