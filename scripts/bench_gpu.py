#!/usr/bin/env python
"""Training speed on one GPU, input pipeline included: photos/s, peak memory and model FLOPs utilisation in bf16.

    python scripts/bench_gpu.py                 # on a CUDA machine (run by scripts/bench_gpu.sh)
    python scripts/bench_gpu.py --smoke         # tiny presets on the CPU: checks that it runs, times nothing real

For each model (default presets; vit-pretrained on a randomly initialised ViT-B/16 `ViTModel` at 224 px):
1. FLOPs per photo of one training step (forward + backward), counted by `torch.utils.flop_counter`.
2. Batch size that fills the GPU: houses per batch doubled (from `start_houses`) while a step on random photos
   peaks under `memory_fraction` of the GPU's memory; the largest that did is used.
3. Premade: steps on that batch already on the GPU (the model alone, the upper bound).
4. Pipeline: the same steps fed by a DataLoader of stored 384x256 JPEG houses through the model's training
   transform with `workers` worker processes, pinned memory and non-blocking copies (what train.py should do);
   photos/s, the share of step time waiting on data, and the loader alone (photos/s it can deliver).
MFU = FLOPs per photo x photos/s / the GPU's dense bf16 peak (`peak_tflops`, looked up from its name).
"""

import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from itertools import repeat

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import HfArgumentParser

from zillow_vit.benchmarking import (
    RANDOM_VITS,
    endless_loader,
    load_summary,
    machine_summary,
    print_table,
    save_random_vit,
    stored_photo_houses,
    synchronizer,
    training_step,
)
from zillow_vit.data import HouseTransform, train_photo_transform
from zillow_vit.recipes import MODELS

DENSE_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 70.0, "L4": 121.0}
"""Dense (no sparsity) bf16 tensor-core peaks from the vendor's data sheets (SXM parts), by a part of the GPU's name."""


@dataclass
class BenchmarkArguments:
    models: list[str] = field(default_factory=lambda: list(MODELS), metadata={"help": "Models to time."})
    preset: str = field(default="default", metadata={"help": 'Config preset of every model ("default", "tiny").'})
    pretrained_model_name_or_path: str | None = field(
        default=None, metadata={"help": "vit-pretrained backbone (local folder or Hub id); default: a random ViT."}
    )
    random_backbone: str = field(
        default="base",
        metadata={"help": "Random ViT backbone size without a pretrained one.", "choices": list(RANDOM_VITS)},
    )
    start_houses: int = field(default=8, metadata={"help": "First batch size (houses) tried when filling the GPU."})
    max_houses: int = field(default=4096, metadata={"help": "Largest batch size (houses) tried."})
    memory_fraction: float = field(default=0.85, metadata={"help": "Peak memory a filling batch may reach."})
    warmup_steps: int = field(default=5, metadata={"help": "Untimed steps first."})
    measured_steps: int = field(default=20, metadata={"help": "Timed steps."})
    workers: int | None = field(default=None, metadata={"help": "DataLoader workers (default: usable CPUs - 1)."})
    photos_per_house: int = field(default=8, metadata={"help": "Stored photos per house of the pipeline dataset."})
    num_houses: int = field(default=64, metadata={"help": "Houses of the pipeline dataset (drawn at random)."})
    peak_tflops: float | None = field(default=None, metadata={"help": "Dense bf16 peak (default: by GPU name)."})
    bf16: bool = field(default=True, metadata={"help": "bfloat16 autocast (Trainer's --bf16)."})
    smoke: bool = field(default=False, metadata={"help": "Tiny presets and batches on any device (a crash test)."})
    seed: int = field(default=0, metadata={"help": "Seed of the weights and photos."})


def smoke_settings(args: BenchmarkArguments) -> None:
    args.preset, args.random_backbone, args.start_houses, args.max_houses = "tiny", "micro", 1, 2
    args.warmup_steps, args.measured_steps, args.workers, args.photos_per_house, args.num_houses = 1, 2, 1, 2, 4


def random_batch(houses: int, photos: int, crop: tuple[int, int], num_labels: int, device: torch.device) -> dict:
    return {
        "pixel_values": torch.randn(houses, photos, 3, *crop, device=device),
        "photo_mask": torch.ones(houses, photos, dtype=torch.bool, device=device),
        "labels": torch.randint(0, num_labels, (houses,), device=device),
    }


def flops_per_photo(model, batch: dict, bf16: bool) -> float:
    """FLOPs of one forward + backward on `batch`, per photo (the optimizer step is not counted)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.autocast(batch["pixel_values"].device.type, dtype=torch.bfloat16, enabled=bf16):
        model(**batch).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / int(batch["photo_mask"].sum())


def timed_steps(model, optimizer, batches, steps: int, args: BenchmarkArguments, device: torch.device) -> dict:
    """`steps` training steps: seconds, photos, and the seconds spent waiting for the next batch on the device."""
    synchronize = synchronizer(device)
    waited = photos = 0.0
    synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fetch = time.perf_counter()
        batch = {key: value.to(device, non_blocking=True) for key, value in next(batches).items()}
        waited += time.perf_counter() - fetch
        training_step(model, optimizer, batch, args.bf16, max_grad_norm=1.0)
        photos += int(batch["photo_mask"].sum())
    synchronize()
    return {"seconds": time.perf_counter() - start, "photos": photos, "waited": waited}


def fits(model, optimizer, houses: int, photos: int, crop, device: torch.device, args: BenchmarkArguments) -> bool:
    """Whether two steps on `houses` houses peak under `memory_fraction` of the device's memory."""
    if device.type != "cuda":
        return True
    torch.cuda.reset_peak_memory_stats(device)
    try:
        batch = random_batch(houses, photos, crop, model.config.num_labels, device)
        for _ in range(2):
            training_step(model, optimizer, batch, args.bf16, max_grad_norm=1.0)
        torch.cuda.synchronize(device)
    except torch.OutOfMemoryError:
        return False
    finally:
        optimizer.zero_grad(set_to_none=True)
        batch = None
        torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(device).total_memory
    return torch.cuda.max_memory_allocated(device) <= args.memory_fraction * total


def filling_batch(model, optimizer, photos: int, crop, device: torch.device, args: BenchmarkArguments) -> int:
    houses = args.start_houses
    while houses * 2 <= args.max_houses and fits(model, optimizer, houses * 2, photos, crop, device, args):
        houses *= 2
    return houses


def benchmark_model(name: str, backbone: str, houses_data, workers: int, args: BenchmarkArguments) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    model, processor = MODELS[name].build(args.preset, backbone=backbone)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    photos, crop = model.config.max_photos, processor.crop_size
    per_photo = flops_per_photo(model, random_batch(2, photos, crop, model.config.num_labels, device), args.bf16)
    houses = filling_batch(model, optimizer, photos, crop, device, args)

    premade = random_batch(houses, photos, crop, model.config.num_labels, device)
    timed_steps(model, optimizer, repeat(premade), args.warmup_steps, args, device)
    bare = timed_steps(model, optimizer, repeat(premade), args.measured_steps, args, device)
    del premade

    houses_data.set_transform(HouseTransform(train_photo_transform(processor), photos, sample_photos=True))
    batches = iter(endless_loader(houses_data, houses, workers, pin_memory=device.type == "cuda"))
    timed_steps(model, optimizer, batches, args.warmup_steps, args, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    fed = timed_steps(model, optimizer, batches, args.measured_steps, args, device)
    for _ in range(2 * max(workers, 1)):  # drain what the workers prefetched (2 batches each) while the GPU was busy
        next(batches)
    loader_start, delivered = time.perf_counter(), 0
    for _ in range(args.measured_steps):
        delivered += int(next(batches)["photo_mask"].sum())
    loader_photos_per_s = delivered / (time.perf_counter() - loader_start)

    peak_tflops = args.peak_tflops or gpu_peak_tflops(device)
    fed_photos_per_s = fed["photos"] / fed["seconds"]
    return {
        "model": name,
        "parameters_m": model.num_parameters() / 1e6,
        "crop": "x".join(map(str, crop)),
        "houses": houses,
        "photos_per_step": houses * photos,
        "gflops_per_photo": per_photo / 1e9,
        "premade_photos_per_s": bare["photos"] / bare["seconds"],
        "photos_per_s": fed_photos_per_s,
        "waiting_pct": 100 * fed["waited"] / fed["seconds"],
        "loader_photos_per_s": loader_photos_per_s,
        "mfu_pct": 100 * per_photo * fed_photos_per_s / (1e12 * peak_tflops) if peak_tflops else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
    }


def gpu_peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tflops for part, tflops in DENSE_BF16_TFLOPS.items() if part in name), None)


def main(argv: list[str] | None = None) -> list[dict]:
    (args,) = HfArgumentParser(BenchmarkArguments, description=__doc__).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    if args.smoke:
        smoke_settings(args)
    elif not torch.cuda.is_available():
        raise SystemExit("No CUDA device: run with --smoke to check the script on the CPU.")
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    workers = args.workers if args.workers is not None else max(1, len(os.sched_getaffinity(0)) - 1)
    print(f"Machine: {machine_summary(device)}; {len(os.sched_getaffinity(0))} CPUs usable; {load_summary()}")
    print(f"Settings: {asdict(args)}; workers {workers}")
    houses_data = stored_photo_houses(args.num_houses, args.photos_per_house, seed=args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as folder:
        backbone = args.pretrained_model_name_or_path or save_random_vit(folder, args.random_backbone, args.seed)
        for name in args.models:
            rows.append(benchmark_model(name, backbone, houses_data, workers, args))
            print(f"{name}: {rows[-1]}", flush=True)
            torch.cuda.empty_cache()

    print(f"\nTraining on one {device.type} device{' in bf16' if args.bf16 else ''} ({args.preset} preset), batch "
          f"filling {args.memory_fraction:.0%} of its memory, {workers} DataLoader workers, {args.measured_steps} steps")  # fmt: skip
    print_table(rows, {"model": "{}", "parameters_m": "{:.1f}", "crop": "{}", "houses": "{}", "photos_per_step": "{}",
                       "gflops_per_photo": "{:.2f}", "premade_photos_per_s": "{:.0f}", "photos_per_s": "{:.0f}",
                       "waiting_pct": "{:.1f}%", "loader_photos_per_s": "{:.0f}", "mfu_pct": "{:.1f}%",
                       "peak_memory_gib": "{:.1f}"})  # fmt: skip
    print("premade: batches already on the GPU (the model alone); photos_per_s: fed by the input pipeline;\n"
          "loader_photos_per_s: what the loader alone delivers; gflops_per_photo: forward + backward (FlopCounterMode);\n"
          "mfu_pct: gflops_per_photo x photos_per_s / dense bf16 peak.")  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
