#!/usr/bin/env python
"""Does the input pipeline keep up? Photos/s per DataLoader worker, and the share of training time spent waiting.

    python scripts/bench_input.py                                  # all three models, default presets, CPU
    python scripts/bench_input.py --models cnn --workers 0 1 2 4 --rounds 3

Houses of `photos_per_house` stored photos (384x256 JPEGs: a listing photo stored with a 256-px short side) go
through each model's training pipeline: `HouseTransform(train_photo_transform(processor), max_photos)` by
`set_transform` (decode, random resized crop, flip, normalise) and `collate_houses` in a `DataLoader`.
- Stages: milliseconds per photo of decoding, the training transform and collation, in this process.
- Loader: photos/s out of the DataLoader alone at each worker count (0 = in the main process: the rate of one
  worker); workers per 1000 photos/s = 1000 / that rate.
- Training: a hand-written training step (forward, backward, clip, AdamW; `--bf16` autocast) fed by that loader;
  waiting share = time blocked on the next batch (and its copy to the device) / step time.
Worker counts are measured in interleaved rounds, so load from other processes hits each alike; the median over the
rounds is printed with the smallest and largest round. vit-pretrained runs on `--pretrained_model_name_or_path`,
else on a randomly initialised ViT of `--random_backbone` size.
"""

import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

import datasets
import torch
from PIL import Image
from torch.utils.data import DataLoader
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
from zillow_vit.data import HouseTransform, collate_houses, train_photo_transform
from zillow_vit.models.image_processing_house import upright_rgb
from zillow_vit.recipes import MODELS


@dataclass
class BenchmarkArguments:
    models: list[str] = field(default_factory=lambda: list(MODELS), metadata={"help": "Models whose inputs to time."})
    preset: str = field(default="default", metadata={"help": 'Config preset of every model ("default", "tiny").'})
    pretrained_model_name_or_path: str | None = field(
        default=None, metadata={"help": "vit-pretrained backbone (local folder or Hub id); default: a random ViT."}
    )
    random_backbone: str = field(
        default="tiny",
        metadata={
            "help": "Size of the random ViT backbone used without a pretrained one.",
            "choices": list(RANDOM_VITS),
        },
    )
    batch_size: int | None = field(
        default=None, metadata={"help": "Houses per batch (default: each model's train.py's)."}
    )
    workers: list[int] = field(default_factory=lambda: [0, 1, 2], metadata={"help": "DataLoader worker counts."})
    rounds: int = field(default=3, metadata={"help": "Interleaved rounds over the worker counts."})
    loader_batches: int = field(default=8, metadata={"help": "Batches timed per loader measurement."})
    warmup_steps: int = field(default=2, metadata={"help": "Untimed batches or steps first (worker start-up)."})
    training_steps: int = field(default=6, metadata={"help": "Training steps timed per measurement (0: none)."})
    num_houses: int = field(default=64, metadata={"help": "Houses in the dataset (they repeat as epochs)."})
    photos_per_house: int = field(default=12, metadata={"help": "Stored photos per house (a model reads max_photos)."})
    device: str = field(default="cpu", metadata={"help": "Where the models train.", "choices": ["cpu", "cuda"]})
    bf16: bool = field(default=False, metadata={"help": "bfloat16 autocast in the training steps."})
    seed: int = field(default=0, metadata={"help": "Seed of the photos, the weights and the augmentation."})


def stored_bytes(houses, count: int) -> list[list[bytes]]:
    """The stored JPEG bytes of the first `count` houses."""
    stored = houses.cast_column("images", datasets.List(datasets.Image(decode=False)))[:count]["images"]
    return [[photo["bytes"] for photo in house] for house in stored]


def stage_ms_per_photo(stored: list[list[bytes]], photo_transform, max_photos: int) -> dict:
    """Milliseconds per photo of each stage, run in this process over the `stored` houses' JPEG bytes."""
    encoded = [data for house in stored for data in house[:max_photos]]
    start = time.perf_counter()
    decoded = [upright_rgb(Image.open(io.BytesIO(data))) for data in encoded]
    decoded_at = time.perf_counter()
    tensors = [photo_transform(photo) for photo in decoded]
    transformed_at = time.perf_counter()
    collate_houses([{"pixel_values": torch.stack(tensors[i : i + max_photos]), "labels": 0}
                    for i in range(0, len(tensors), max_photos)])  # fmt: skip
    collated_at = time.perf_counter()
    count = len(encoded)
    return {
        "decode_ms": 1000 * (decoded_at - start) / count,
        "transform_ms": 1000 * (transformed_at - decoded_at) / count,
        "collate_ms": 1000 * (collated_at - transformed_at) / count,
    }


def loader_photos_per_s(loader: DataLoader, warmup: int, batches: int) -> float:
    stream = iter(loader)
    for _ in range(warmup):
        next(stream)
    start, photos = time.perf_counter(), 0
    for _ in range(batches):
        photos += int(next(stream)["photo_mask"].sum())
    return photos / (time.perf_counter() - start)


def training_wait(model, loader: DataLoader, warmup: int, steps: int, args: BenchmarkArguments) -> dict:
    """Hand-written training steps fed by `loader`: the share of step time spent waiting on the next batch (and
    its copy to the device), the mean step time and photos/s."""
    device = torch.device(args.device)
    synchronize = synchronizer(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    stream = iter(loader)
    waited = total = photos = 0.0
    for step in range(warmup + steps):
        start = time.perf_counter()
        batch = {key: value.to(device, non_blocking=True) for key, value in next(stream).items()}
        ready = time.perf_counter()
        training_step(model, optimizer, batch, args.bf16, max_grad_norm=1.0)
        synchronize()
        if step >= warmup:
            waited, total = waited + ready - start, total + time.perf_counter() - start
            photos += int(batch["photo_mask"].sum())
    return {"waiting_pct": 100 * waited / total, "step_s": total / steps, "photos_per_s": photos / total}


def summarise(name: str, workers: int, rounds: list[dict], key: str) -> dict:
    values = [figures[key] for figures in rounds]
    return {"model": name, "workers": workers, key: statistics.median(values), "low": min(values), "high": max(values)}


def benchmark_model(
    name: str, houses, stored: list[list[bytes]], backbone: str, args: BenchmarkArguments
) -> tuple[dict, list[dict], list[dict]]:
    torch.manual_seed(args.seed)
    recipe = MODELS[name]
    model, processor = recipe.build(args.preset, backbone=backbone)
    model.to(args.device)
    max_photos = model.config.max_photos
    batch_size = args.batch_size or recipe.training_defaults["per_device_train_batch_size"]
    photo_transform = train_photo_transform(processor)
    stages = {"model": name, "crop": "x".join(map(str, processor.crop_size)), "photos_per_house": max_photos,
              **stage_ms_per_photo(stored[:batch_size], photo_transform, max_photos)}  # fmt: skip
    houses.set_transform(HouseTransform(photo_transform, max_photos, sample_photos=True))
    loaders = {workers: endless_loader(houses, batch_size, workers, args.device == "cuda") for workers in args.workers}
    loading, training = {w: [] for w in args.workers}, {w: [] for w in args.workers}
    for _ in range(args.rounds):
        for workers, loader in loaders.items():
            loading[workers].append(
                {"photos_per_s": loader_photos_per_s(loader, args.warmup_steps, args.loader_batches)}
            )
            if args.training_steps:
                training[workers].append(training_wait(model, loader, args.warmup_steps, args.training_steps, args))
    loader_rows = [summarise(name, workers, loading[workers], "photos_per_s") for workers in args.workers]
    for row in loader_rows:
        row["workers_per_1000"] = 1000 * row["workers"] / row["photos_per_s"] if row["workers"] else None
    training_rows = [
        {**summarise(name, workers, training[workers], "waiting_pct"),
         "step_s": statistics.median(f["step_s"] for f in training[workers]),
         "photos_per_s": statistics.median(f["photos_per_s"] for f in training[workers])}
        for workers in args.workers if training[workers]
    ]  # fmt: skip
    return stages, loader_rows, training_rows


def main(argv: list[str] | None = None) -> dict:
    (args,) = HfArgumentParser(BenchmarkArguments, description=__doc__).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    device = torch.device(args.device)
    print(f"Machine: {machine_summary(device)}; {len(os.sched_getaffinity(0))} CPUs usable")
    print(f"Settings: {asdict(args)}")
    print(f"Before: {load_summary()}")
    houses = stored_photo_houses(args.num_houses, args.photos_per_house, seed=args.seed)
    stored = stored_bytes(houses, args.num_houses)
    stages, loading, training = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench_input_") as folder:
        backbone = args.pretrained_model_name_or_path or save_random_vit(folder, args.random_backbone, args.seed)
        for name in args.models:
            model_stages, model_loading, model_training = benchmark_model(name, houses, stored, backbone, args)
            stages.append(model_stages)
            loading.extend(model_loading)
            training.extend(model_training)
    print(f"After: {load_summary()}")

    print("\nStages, ms per photo in one process (stored 384x256 JPEG -> training crop)")
    print_table(stages, {"model": "{}", "crop": "{}", "photos_per_house": "{}", "decode_ms": "{:.2f}",
                         "transform_ms": "{:.2f}", "collate_ms": "{:.2f}"})  # fmt: skip
    print(f"\nLoader alone: photos/s, median of {args.rounds} interleaved rounds of {args.loader_batches} batches")
    print_table(loading, {"model": "{}", "workers": "{}", "photos_per_s": "{:.0f}", "low": "{:.0f}", "high": "{:.0f}",
                          "workers_per_1000": "{:.1f}"})  # fmt: skip
    print("workers = 0: in the main process (torch's threads); workers_per_1000: workers needed per 1000 photos/s at\n"
          "this count's rate per worker (a worker runs one thread and needs a core of its own).")  # fmt: skip
    if training:
        print(f"\nTraining fed by the loader ({args.preset} preset{', bf16' if args.bf16 else ''}, {args.device}): "
              f"share of step time waiting on data, median of {args.rounds} rounds of {args.training_steps} steps")  # fmt: skip
        print_table(training, {"model": "{}", "workers": "{}", "waiting_pct": "{:.1f}%", "low": "{:.1f}%",
                               "high": "{:.1f}%", "step_s": "{:.3f}", "photos_per_s": "{:.1f}"})  # fmt: skip
    return {"stages": stages, "loading": loading, "training": training}


if __name__ == "__main__":
    main()
