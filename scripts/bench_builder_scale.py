#!/usr/bin/env python
"""The dataset builder at listing scale: 10,000 large photos over loopback HTTP, 1 and 2 cores, memory, resume.

    python scripts/bench_builder_scale.py                          # photos cached in /tmp/zillow-vit-builder-scale
    python scripts/bench_builder_scale.py --num_photos 2000 --rss_counts 500 2000 --speed_repeats 2

Seeded photo-like JPEGs (`photo_width` x `photo_height`) are generated once into `work_dir/photos` and served,
with listings of houses of 20-40 photos each, by a threaded HTTP/1.1 server on 127.0.0.1 in this process. Every
build runs `build_house_dataset(listing URL)` (fetch, decode, downscale, store, write Arrow) in a fresh child
process on a cold cache, pinned to the cores given (`os.sched_setaffinity`), which reports its wall time, CPU
time (user + system, all its threads) and peak RSS:
- speed: `speed_repeats` interleaved pairs of a 1-core and a 2-core build of the first `speed_photos` photos;
  cores used = CPU time / wall time, so threads that decode in parallel show close to 2 on 2 cores;
- memory: a build of each of `rss_counts` photos (all cores); the peak RSS must not grow with the count;
- resume: a build of all photos killed (SIGKILL) once half of them are stored, then run again to completion,
  against the cold build of the same photos.
The load average before each build is printed beside it: other processes share these cores.
"""

import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import psutil
from transformers import HfArgumentParser

from dataset_builder.photos import STORED_PHOTO_VERSION
from zillow_vit.benchmarking import cpu_name, photo_like, print_table
from zillow_vit.training import peak_rss_mib

STORED_SHORT_SIDE = 256


@dataclass
class BenchmarkArguments:
    work_dir: str = field(
        default="/tmp/zillow-vit-builder-scale",
        metadata={"help": "Generated photos (kept for later runs) and the build caches (removed after each build)."},
    )
    num_photos: int = field(default=10_000, metadata={"help": "Photos generated and served."})
    photo_width: int = field(default=1536, metadata={"help": "Width of the generated photos (px)."})
    photo_height: int = field(default=1024, metadata={"help": "Height of the generated photos (px)."})
    photos_per_house: list[int] = field(
        default_factory=lambda: [20, 40], metadata={"help": "Fewest and most photos of a listed house."}
    )
    speed_photos: int = field(default=1000, metadata={"help": "Photos per build of the 1-core/2-core comparison."})
    speed_repeats: int = field(default=3, metadata={"help": "Interleaved pairs of 1-core and 2-core builds."})
    rss_counts: list[int] = field(
        default_factory=lambda: [1000, 10_000], metadata={"help": "Photo counts whose builds' peak RSS is compared."}
    )
    download_workers: int = field(default=8, metadata={"help": "The builder's --download_workers."})
    seed: int = field(default=0, metadata={"help": "Seed of the photos and of the listings."})


def photo_path(photos_dir: str, index: int) -> str:
    return os.path.join(photos_dir, f"{index:05d}.jpg")


def write_photo(index: int, photos_dir: str, width: int, height: int, seed: int) -> None:
    """A seeded photo-like JPEG (smooth colour field, flat boxes, mild sensor noise; quality 85)."""
    photo = photo_like(np.random.default_rng([seed, index]), width, height, coarse=(6, 9), boxes=10)
    path = photo_path(photos_dir, index)
    photo.save(path + ".part", format="JPEG", quality=85)
    os.replace(path + ".part", path)


def ensure_photos(args: BenchmarkArguments) -> str:
    """The photos folder, with every missing photo generated (in as many threads as there are cores)."""
    photos_dir = os.path.join(args.work_dir, f"photos-{args.photo_width}x{args.photo_height}-seed{args.seed}")
    os.makedirs(photos_dir, exist_ok=True)
    missing = [index for index in range(args.num_photos) if not os.path.exists(photo_path(photos_dir, index))]
    if missing:
        print(f"Generating {len(missing)} photos into {photos_dir} (once) ...", flush=True)
        make = partial(
            write_photo, photos_dir=photos_dir, width=args.photo_width, height=args.photo_height, seed=args.seed
        )
        with ThreadPoolExecutor(os.cpu_count()) as pool:
            list(pool.map(make, missing, chunksize=16))
    return photos_dir


def write_listing(path: str, base_url: str, num_photos: int, photos_per_house: list[int], seed: int) -> None:
    """A listing of houses with `photos_per_house` (fewest, most) photos each over the first `num_photos` photos
    (the last house takes what is left), with seeded prices."""
    rng = random.Random(seed)
    houses, start = [], 0
    while start < num_photos:
        count = min(rng.randint(*photos_per_house), num_photos - start)
        photos = [f"{base_url}/{index:05d}.jpg" for index in range(start, start + count)]
        houses.append({"id": f"house-{len(houses)}", "price": rng.randint(100, 2000) * 1000, "images": photos})
        start += count
    with open(path, "w") as handle:
        json.dump(houses, handle)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a build killed half-way resets its connections


class QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a CDN serves

    def log_message(self, format, *args):
        pass


@contextmanager
def photo_server(folder: str):
    """A threaded HTTP server of `folder` on 127.0.0.1; yields its base URL."""
    server = QuietServer(("127.0.0.1", 0), partial(QuietHandler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def timed_build(listing_url: str, cache_dir: str, cores: list[int], download_workers: int) -> dict:
    """Runs in the child process: the build on `cores`, its wall time, CPU time, RSS once the builder is imported
    and peak RSS."""
    os.sched_setaffinity(0, cores)
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    from dataset_builder import build_house_dataset

    imported_rss = psutil.Process().memory_info().rss
    start, cpu_start = time.perf_counter(), os.times()
    dataset, report = build_house_dataset(listing_url, cache_dir=cache_dir, download_workers=download_workers)
    wall_s, cpu_end = time.perf_counter() - start, os.times()
    return {
        "photos": report.photos_stored,
        "wall_s": wall_s,
        "cpu_s": (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system),
        "imported_rss_mib": imported_rss / 2**20,
        "peak_rss_mib": peak_rss_mib(),
    }


def child_command(listing_url: str, cache_dir: str, cores: list[int], download_workers: int) -> list[str]:
    spec = {"listing_url": listing_url, "cache_dir": cache_dir, "cores": cores, "download_workers": download_workers}
    return [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]


def run_build(listing_url: str, cache_dir: str, cores: list[int], download_workers: int) -> dict:
    """A cold build in a child process pinned to `cores`; its figures and the load average before it."""
    shutil.rmtree(cache_dir, ignore_errors=True)
    load = os.getloadavg()[0]
    done = subprocess.run(
        child_command(listing_url, cache_dir, cores, download_workers), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"Build failed ({done.returncode}):\n{done.stderr[-3000:]}")
    shutil.rmtree(cache_dir, ignore_errors=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    row = {**figures, "cores": len(cores), "photos_per_s": figures["photos"] / figures["wall_s"],
           "cores_used": figures["cpu_s"] / figures["wall_s"], "load_before": load}  # fmt: skip
    print(
        f"  build of {row['photos']} photos on {row['cores']} core(s): {row['photos_per_s']:.1f} photos/s", flush=True
    )
    return row


def stored_count(cache_dir: str) -> int:
    folder = os.path.join(cache_dir, "zillow_houses_photos", f"short{STORED_SHORT_SIDE}-v{STORED_PHOTO_VERSION}")
    return len(os.listdir(folder)) if os.path.isdir(folder) else 0


def kill_half_way(listing_url: str, cache_dir: str, cores: list[int], args: BenchmarkArguments, total: int) -> dict:
    """A cold build killed once half of its photos are stored; then the same build run again to completion."""
    shutil.rmtree(cache_dir, ignore_errors=True)
    start = time.perf_counter()
    child = subprocess.Popen(
        child_command(listing_url, cache_dir, cores, args.download_workers),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while stored_count(cache_dir) < total // 2 and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed_after_s, stored_at_kill = time.perf_counter() - start, stored_count(cache_dir)
    load = os.getloadavg()[0]
    done = subprocess.run(
        child_command(listing_url, cache_dir, cores, args.download_workers), capture_output=True, text=True, check=True
    )
    shutil.rmtree(cache_dir, ignore_errors=True)
    resumed = json.loads(done.stdout.strip().splitlines()[-1])
    return {"killed_after_s": killed_after_s, "stored_at_kill": stored_at_kill, "resume_s": resumed["wall_s"],
            "resume_cpu_s": resumed["cpu_s"], "load_before": load}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    (args,) = HfArgumentParser(BenchmarkArguments, description=__doc__).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    all_cores = sorted(os.sched_getaffinity(0))
    print(f"Machine: {len(all_cores)} usable of {os.cpu_count()} CPUs ({cpu_name()}), Python {sys.version.split()[0]}")
    print(f"Settings: {asdict(args)}")
    if max([args.speed_photos, *args.rss_counts]) > args.num_photos:
        raise ValueError("--speed_photos and --rss_counts must not exceed --num_photos.")
    photos_dir = ensure_photos(args)
    builds_dir = os.path.join(args.work_dir, "builds")
    core_sets = {1: all_cores[:1], 2: all_cores[:2]}

    with photo_server(photos_dir) as base_url:
        listings = {}
        for count in sorted({args.speed_photos, args.num_photos, *args.rss_counts}):
            write_listing(
                os.path.join(photos_dir, f"listing-{count}.json"), base_url, count, args.photos_per_house, args.seed
            )
            listings[count] = f"{base_url}/listing-{count}.json"
        build = partial(run_build, cache_dir=builds_dir, download_workers=args.download_workers)

        speed = [
            build(listings[args.speed_photos], cores=core_sets[cores])
            for _ in range(args.speed_repeats)
            for cores in (1, 2)
        ]
        memory = [build(listings[count], cores=all_cores) for count in args.rss_counts]
        cold = (
            memory[-1] if args.rss_counts[-1] == args.num_photos else build(listings[args.num_photos], cores=all_cores)
        )
        resume = kill_half_way(listings[args.num_photos], builds_dir, all_cores, args, args.num_photos)

    print(f"\nSpeed: cold builds of {args.speed_photos} photos ({args.photo_width}x{args.photo_height} JPEG -> short side "
          f"{STORED_SHORT_SIDE}), 1-core and 2-core builds interleaved, {args.download_workers} download workers")  # fmt: skip
    print_table(speed, {"cores": "{}", "photos": "{}", "wall_s": "{:.1f}", "photos_per_s": "{:.1f}", "cpu_s": "{:.1f}",
                        "cores_used": "{:.2f}", "peak_rss_mib": "{:.0f}", "load_before": "{:.2f}"})  # fmt: skip
    per_cores = {
        cores: statistics.median(row["photos_per_s"] for row in speed if row["cores"] == cores) for cores in (1, 2)
    }
    print(
        f"median photos/s: 1 core {per_cores[1]:.1f}, 2 cores {per_cores[2]:.1f} (x{per_cores[2] / per_cores[1]:.2f})"
    )
    print("\nMemory: cold builds on all cores (RSS of the build process once the builder is imported, and its peak)")
    print_table(memory, {"photos": "{}", "wall_s": "{:.1f}", "photos_per_s": "{:.1f}", "cores_used": "{:.2f}",
                         "imported_rss_mib": "{:.0f}", "peak_rss_mib": "{:.0f}", "load_before": "{:.2f}"})  # fmt: skip
    print(f"\nResume: the {args.num_photos}-photo build killed after {resume['killed_after_s']:.1f} s with "
          f"{resume['stored_at_kill']} photos stored, then run again: {resume['resume_s']:.1f} s "
          f"(cold build {cold['wall_s']:.1f} s; load before {resume['load_before']:.2f})")  # fmt: skip
    return {"speed": speed, "memory": memory, "cold": cold, "resume": resume}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(timed_build(**json.loads(sys.argv[2]))))
    else:
        main()
