"""What the benchmark scripts share: the machine and its load, a plain table, a confidence interval of paired
ratios, randomly initialised ViT backbones of standard sizes (vit-pretrained without the Hub), houses of stored
photos, and the hand-written training step that Trainer is measured against."""

import io
import math
import os
import platform
import statistics
from collections.abc import Callable, Iterator

import datasets
import numpy as np
import torch
from PIL import Image
from scipy import stats
from torch.utils.data import DataLoader, RandomSampler
from transformers import ViTConfig, ViTImageProcessor, ViTModel

from .data import collate_houses

RANDOM_VITS = {
    "micro": {"image_size": 32, "patch_size": 8, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2},
    "tiny": {"image_size": 224, "patch_size": 16, "hidden_size": 192, "num_hidden_layers": 12, "num_attention_heads": 3},
    "base": {"image_size": 224, "patch_size": 16, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12},
}  # fmt: skip
"""ViT shapes by name: "tiny" and "base" are ViT-Ti/16 and ViT-B/16 at 224 px; "micro" matches the tiny presets."""


def cpu_name() -> str:
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as handle:
            name = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), None)
            if name:
                return name
    return platform.processor() or platform.machine()


def machine_summary(device: torch.device | None = None) -> str:
    """CPUs, torch and its threads, and the device (GPU name when on CUDA)."""
    device = device or torch.device("cpu")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    return (f"{os.cpu_count()} CPUs ({cpu_name()}), torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"device {device.type}: {device_name}")  # fmt: skip


def load_summary() -> str:
    """The load average (runnable processes over 1, 5 and 15 minutes) against the CPU count: other work sharing
    the CPUs shows here."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"


def print_table(rows: list[dict], columns: dict[str, str]) -> None:
    """`columns` maps each row key to its printed format (e.g. "{:.2f}"); None prints as "-"."""
    cells = [["-" if row[key] is None else fmt.format(row[key]) for key, fmt in columns.items()] for row in rows]
    widths = [max(len(key), *(len(line[i]) for line in cells)) for i, key in enumerate(columns)]
    print("  ".join(key.rjust(width) for key, width in zip(columns, widths)))
    for line in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))


def ratio_interval(ratios: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Geometric mean of paired ratios and its `level` confidence interval (Student's t on the log ratios)."""
    logs = [math.log(ratio) for ratio in ratios]
    center = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(center), math.nan, math.nan
    half_width = stats.t.ppf((1 + level) / 2, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(center), math.exp(center - half_width), math.exp(center + half_width)


def save_random_vit(folder: str, size: str, seed: int = 0) -> str:
    """A randomly initialised `ViTModel` of a `RANDOM_VITS` shape and its image processor (mean = std = 0.5),
    saved to `folder`: a backbone that `vit-pretrained` loads offline. Returns `folder`."""
    shape = RANDOM_VITS[size]
    torch.manual_seed(seed)
    ViTModel(ViTConfig(**shape, intermediate_size=4 * shape["hidden_size"])).save_pretrained(folder)
    side = shape["image_size"]
    ViTImageProcessor(size={"height": side, "width": side}).save_pretrained(folder)
    return folder


def photo_like(rng: np.random.Generator, width: int, height: int, coarse=(4, 6), boxes: int = 6) -> Image.Image:
    """A photo-like image: a smooth colour field (a `coarse` grid of random colours, upscaled), `boxes` flat boxes,
    mild sensor noise."""
    grid = Image.fromarray(rng.integers(0, 256, size=(*coarse, 3), dtype=np.uint8))
    pixels = np.asarray(grid.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    for _ in range(boxes):
        left, top = rng.integers(0, width - width // 5), rng.integers(0, height - height // 5)
        pixels[top : top + height // 5, left : left + width // 5] = rng.integers(0, 256, size=3)
    pixels += rng.integers(-4, 5, size=pixels.shape, dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def stored_photo(rng: np.random.Generator, width: int, height: int) -> bytes:
    """A photo-like JPEG as the builder stores it (quality 90)."""
    buffer = io.BytesIO()
    photo_like(rng, width, height).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def stored_photo_houses(
    num_houses: int, photos_per_house: int, width: int = 384, height: int = 256, seed: int = 0
) -> datasets.Dataset:
    """Houses of `photos_per_house` distinct stored photos each (`width` x `height` JPEGs: a 3:2 listing photo
    stored with a 256-px short side), with the features of a built dataset (`images`, `label`)."""
    rng = np.random.default_rng(seed)
    features = datasets.Features(
        {
            "images": datasets.List(datasets.Image()),
            "label": datasets.ClassLabel(names=["cheap", "average", "expensive"]),
        }
    )
    houses = {
        "images": [[stored_photo(rng, width, height) for _ in range(photos_per_house)] for _ in range(num_houses)],
        "label": [index % 3 for index in range(num_houses)],
    }
    return datasets.Dataset.from_dict(houses, features=features)


def endless_loader(houses, batch_size: int, workers: int, pin_memory: bool) -> DataLoader:
    """Batches of houses drawn at random without end (one endless epoch, so workers never restart), as train.py
    should load them: `collate_houses`, full batches, workers kept alive, pinned memory when feeding a GPU."""
    sampler = RandomSampler(houses, replacement=True, num_samples=2**40)
    return DataLoader(houses, batch_size=batch_size, sampler=sampler, collate_fn=collate_houses, drop_last=True,
                      num_workers=workers, persistent_workers=workers > 0, pin_memory=pin_memory)  # fmt: skip


def synchronizer(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else lambda: None


def batches_forever(loader: DataLoader) -> Iterator[dict]:
    """Epoch after epoch of `loader`, as Trainer does up to `max_steps`."""
    while True:
        yield from loader


def training_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: dict, bf16: bool, max_grad_norm: float
) -> None:
    """Forward (bfloat16 autocast if `bf16`), backward, gradient clipping (if `max_grad_norm` > 0), optimizer step:
    the hand-written loop's step, on a batch already on the model's device."""
    device_type = batch["pixel_values"].device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
        loss = model(**batch).loss
    loss.backward()
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    optimizer.zero_grad()
