#!/usr/bin/env python
"""Benchmark the two costs of building the dataset from a listing: decoding photos and fetching them.

    python scripts/bench_dataset_build.py
    python scripts/bench_dataset_build.py --benchmark_photos_dir /work/shared/data/houses-ahmed2016

(a) Decode: photos/s to decode, EXIF-rotate and downscale to the stored size with the project's
`decode_downscaled` (JPEG draft mode) against a full decode followed by the same `downscale`, on the same
photos held in memory: seeded large JPEGs (listing-sized, half of them EXIF-rotated) and optionally the
benchmark photos (already small, so draft mode has nothing to skip there).
(b) Network: `PhotoStore.prepare` end to end against a loopback HTTP server serving generated photos and a
listing JSON, cold (empty cache) and warm; the time spent inside `_download` summed over the worker threads,
divided by wall time x workers, is the share of the fetch pool's time spent waiting on the network.
"""

import glob
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import PIL
from PIL import Image, features
from transformers import HfArgumentParser

from dataset_builder import DatasetOptions, PhotoStore, read_listings
from dataset_builder.photos import decode_downscaled, downscale
from zillow_vit.benchmarking import cpu_name, print_table

EXIF_ORIENTATION = 0x0112
ROTATED_90 = 6  # EXIF orientation: the camera was turned, the stored pixels must be rotated 90 degrees


@dataclass
class BenchmarkArguments:
    num_photos: int = field(default=24, metadata={"help": "Large JPEGs generated (seeded) for both benchmarks."})
    photo_width: int = field(default=2000, metadata={"help": "Width of the generated photos (px)."})
    photo_height: int = field(default=1500, metadata={"help": "Height of the generated photos (px)."})
    benchmark_photos_dir: str | None = field(
        default=None,
        metadata={"help": "Also decode the JPEGs under DIR/images (e.g. /work/shared/data/houses-ahmed2016)."},
    )
    max_benchmark_photos: int = field(default=200, metadata={"help": "Most benchmark photos decoded."})
    repeats: int = field(default=3, metadata={"help": "Timed passes per measurement; the median is reported."})
    network_houses: int = field(default=16, metadata={"help": "Houses in the served listing."})
    photos_per_house: int = field(default=4, metadata={"help": "Photos per served house (distinct URLs)."})
    seed: int = field(default=0, metadata={"help": "Seed of the generated photos."})


def machine_summary() -> str:
    turbo = "libjpeg-turbo" if features.check_feature("libjpeg_turbo") else "libjpeg"
    return f"{os.cpu_count()} CPUs ({cpu_name()}), Python {platform.python_version()}, Pillow {PIL.__version__} ({turbo} {features.version('jpg')})"


def make_large_photos(count: int, width: int, height: int, seed: int) -> list[bytes]:
    """Seeded photo-like JPEGs (smooth colour field, shapes, sensor noise; quality 90); every other one
    carries EXIF orientation 6, so it must be rotated when decoded."""
    rng = np.random.default_rng(seed)
    photos = []
    for index in range(count):
        coarse = Image.fromarray(rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8))
        pixels = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
        for _ in range(12):
            left, top = rng.integers(0, width - width // 6), rng.integers(0, height - height // 6)
            pixels[top : top + height // 6, left : left + width // 6] = rng.integers(0, 256, size=3)
        pixels += rng.normal(0.0, 6.0, size=pixels.shape).astype(np.float32)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        exif = Image.Exif()
        if index % 2:
            exif[EXIF_ORIENTATION] = ROTATED_90
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
        photos.append(buffer.getvalue())
    return photos


def read_benchmark_photos(folder: str, limit: int) -> list[bytes]:
    paths = sorted(glob.glob(os.path.join(folder, "images", "*.jpg")))[:limit]
    if not paths:
        raise FileNotFoundError(f"No JPEGs under {os.path.join(folder, 'images')}")
    photos = []
    for path in paths:
        with open(path, "rb") as handle:
            photos.append(handle.read())
    return photos


def full_decode_downscaled(data: bytes, short_side: int) -> Image.Image:
    """The reference: decode every pixel, then the project's same `downscale` (EXIF rotation, resize)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return downscale(image, short_side)


def photos_per_second(decode, photos: list[bytes], short_side: int, repeats: int) -> float:
    decode(photos[0], short_side)  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for data in photos:
            decode(data, short_side)
        seconds.append(time.perf_counter() - start)
    return len(photos) / statistics.median(seconds)


def compare_decoders(name: str, photos: list[bytes], short_side: int, repeats: int) -> dict:
    """Draft-mode vs full decode on the same photos. Pixel differences are compared where both give the same
    size; for some odd source sizes the draft decode comes out 1 px shorter on the long side (counted)."""
    differences, size_mismatches = [], 0
    for data in photos:
        draft, full = decode_downscaled(data, short_side), full_decode_downscaled(data, short_side)
        if draft.size != full.size:
            size_mismatches += 1
            continue
        differences.append(np.abs(np.asarray(draft, dtype=np.int16) - np.asarray(full, dtype=np.int16)).mean())
    with Image.open(io.BytesIO(photos[0])) as first:
        source_size = f"{first.width}x{first.height}"
    stored = decode_downscaled(photos[0], short_side)
    full_rate = photos_per_second(full_decode_downscaled, photos, short_side, repeats)
    draft_rate = photos_per_second(decode_downscaled, photos, short_side, repeats)
    return {
        "photos": name,
        "count": len(photos),
        "source_size": source_size,
        "stored_size": f"{stored.width}x{stored.height}",
        "full_decode_per_s": full_rate,
        "draft_decode_per_s": draft_rate,
        "speed_up": draft_rate / full_rate,
        "mean_abs_diff": float(np.mean(differences)) if differences else float("nan"),
        "size_mismatches": size_mismatches,
    }


class TimedPhotoStore(PhotoStore):
    """A `PhotoStore` that sums the time its worker threads spend in `_download` (the network wait)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.download_seconds = 0.0
        self.downloads = 0
        self._lock = threading.Lock()

    def _download(self, url: str) -> bytes:
        start = time.perf_counter()
        try:
            return super()._download(url)
        finally:
            with self._lock:
                self.download_seconds += time.perf_counter() - start
                self.downloads += 1


def write_listing_site(folder: str, photos: list[bytes], num_houses: int, photos_per_house: int) -> str:
    """`houses.json` plus `images/`: every house its own photo files (the generated photos reused in turn)."""
    os.makedirs(os.path.join(folder, "images"))
    houses = []
    for house in range(num_houses):
        names = []
        for k in range(photos_per_house):
            name = f"images/{house}_{k}.jpg"
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(photos[(house * photos_per_house + k) % len(photos)])
            names.append(name)
        houses.append({"id": str(house), "price": 100_000 + 5_000 * house, "images": names})
    with open(os.path.join(folder, "houses.json"), "w") as handle:
        json.dump(houses, handle)
    return "houses.json"


@contextmanager
def serve_folder(folder: str):
    """Serve `folder` on 127.0.0.1 from a daemon thread; yields (base URL, request counter); always shut down on exit."""
    requests_served = {"count": 0}

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            requests_served["count"] += 1
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests_served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def time_prepare(store: TimedPhotoStore, locations: list[str], requests_served: dict) -> dict:
    """One `prepare` over `locations`: wall time, network time summed over threads, requests the server saw."""
    store.download_seconds, store.downloads = 0.0, 0
    requests_before = requests_served["count"]
    start = time.perf_counter()
    results = store.prepare(locations, description="prepare")
    wall = time.perf_counter() - start
    failed = [result.error for result in results.values() if result.error]
    if failed:
        raise RuntimeError(f"{len(failed)} photos failed, e.g. {failed[0]}")
    return {"wall_s": wall, "downloads": store.downloads, "download_s": store.download_seconds,
            "requests": requests_served["count"] - requests_before}  # fmt: skip


def network_share(photos: list[bytes], args: BenchmarkArguments, options: DatasetOptions, work_dir: str) -> list[dict]:
    """Cold (fresh cache, median of `repeats`) and warm `prepare` of a served listing."""
    site = os.path.join(work_dir, "site")
    listing_name = write_listing_site(site, photos, args.network_houses, args.photos_per_house)
    with serve_folder(site) as (base_url, requests_served):
        locations = [photo for listing in read_listings(f"{base_url}/{listing_name}") for photo in listing.photos]
        cold_runs = []
        for repeat in range(args.repeats):
            store = TimedPhotoStore(os.path.join(work_dir, f"cache{repeat}"), options.image_short_side, options)
            cold_runs.append(time_prepare(store, locations, requests_served))
        warm = time_prepare(store, locations, requests_served)
    cold = sorted(cold_runs, key=lambda run: run["wall_s"])[len(cold_runs) // 2]
    rows = []
    for cache, run in (("cold", cold), ("warm", warm)):
        rows.append({
            "cache": cache, "photos": len(locations), **run,
            "photos_per_s": len(locations) / run["wall_s"],
            "network_share": run["download_s"] / (run["wall_s"] * options.download_workers),
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args, options = HfArgumentParser(
        (BenchmarkArguments, DatasetOptions), description=__doc__
    ).parse_args_into_dataclasses(args=argv)
    print(f"Machine: {machine_summary()}")
    print(f"Settings: {asdict(args)}, short side {options.image_short_side}, {options.download_workers} workers")
    generated = make_large_photos(args.num_photos, args.photo_width, args.photo_height, args.seed)
    decode_rows = [compare_decoders("generated", generated, options.image_short_side, args.repeats)]
    if args.benchmark_photos_dir:
        benchmark = read_benchmark_photos(args.benchmark_photos_dir, args.max_benchmark_photos)
        decode_rows.append(compare_decoders("benchmark", benchmark, options.image_short_side, args.repeats))
    with tempfile.TemporaryDirectory(prefix="bench_dataset_build_") as work_dir:
        network_rows = network_share(generated, args, options, work_dir)

    print(
        f"\n(a) Decode + EXIF-rotate + downscale to short side {options.image_short_side} px, one thread (median of {args.repeats} passes)"
    )
    print_table(decode_rows, {"photos": "{}", "count": "{}", "source_size": "{}", "stored_size": "{}",
                              "full_decode_per_s": "{:.1f}", "draft_decode_per_s": "{:.1f}", "speed_up": "{:.2f}x",
                              "mean_abs_diff": "{:.2f}", "size_mismatches": "{}"})  # fmt: skip
    print(
        "mean_abs_diff: mean |draft - full| per pixel channel (0-255), over photos whose two outputs have the same size."
    )
    print(
        f"\n(b) PhotoStore.prepare from a loopback server, {options.download_workers} workers (cold: median of {args.repeats} fresh caches)"
    )
    print_table(network_rows, {"cache": "{}", "photos": "{}", "requests": "{}", "wall_s": "{:.3f}", "photos_per_s": "{:.1f}",
                               "download_s": "{:.3f}", "network_share": "{:.1%}"})  # fmt: skip
    print("download_s: time inside _download summed over threads; network_share = download_s / (wall_s x workers).")
    return {"decode": decode_rows, "network": network_rows}


if __name__ == "__main__":
    main()
