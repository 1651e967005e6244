#!/usr/bin/env python
"""How fast `predict.py` scores a whole listing, and what dominates: fetching (from the local photo cache), decoding
and preprocessing, or the model.

    python scripts/bench_predict.py --num_houses 1000 --photos_per_house 4

Writes a listing of `num_houses` houses with `photos_per_house` distinct 1024x768 JPEGs each (once, under
`--work_dir`), saves a randomly initialised model of the chosen recipe, fills the photo cache (a cold pass, timed
too), then times each stage of predict.py's warm path over the whole listing and prints houses/s.
"""

import importlib.util
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from PIL import Image
from transformers import HfArgumentParser

from dataset_builder import FetchSettings, PhotoStore
from zillow_vit.benchmarking import load_summary, machine_summary, print_table, stored_photo
from zillow_vit.data import fetch_relisted_photos
from zillow_vit.recipes import MODELS

PREDICT_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "predict.py")


@dataclass
class BenchmarkArguments:
    work_dir: str = field(default="/tmp/zillow-vit-bench-predict", metadata={"help": "Listing, photos and cache."})
    num_houses: int = field(default=1000, metadata={"help": "Houses in the listing."})
    photos_per_house: int = field(default=4, metadata={"help": "Photos per house (all read by the model)."})
    model: str = field(default="vit-scratch", metadata={"help": "Recipe to time.", "choices": ["cnn", "vit-scratch"]})
    preset: str = field(default="default", metadata={"help": 'Config preset ("default", "tiny").'})
    batch_size: int = field(default=16, metadata={"help": "Houses scored at once."})
    seed: int = field(default=0, metadata={"help": "Seed of the photos and the model."})


def load_predict():
    spec = importlib.util.spec_from_file_location("predict", PREDICT_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_listing(args: BenchmarkArguments) -> str:
    """The listing JSON and its photos, written once for these settings."""
    folder = os.path.join(args.work_dir, f"listing-{args.num_houses}x{args.photos_per_house}-seed{args.seed}")
    path = os.path.join(folder, "export.json")
    if os.path.exists(path):
        return path
    os.makedirs(os.path.join(folder, "photos"), exist_ok=True)
    rng = np.random.default_rng(args.seed)
    houses = []
    for index in range(args.num_houses):
        photos = []
        for k in range(args.photos_per_house):
            name = f"photos/{index}_{k}.jpg"
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(stored_photo(rng, 1024, 768))
            photos.append(name)
        houses.append({"id": str(index), "price": int(rng.integers(100_000, 2_000_000)), "images": photos})
    with open(path + ".tmp", "w") as handle:
        json.dump(houses, handle)
    os.replace(path + ".tmp", path)
    return path


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> list[dict]:
    (args,) = HfArgumentParser(BenchmarkArguments, description=__doc__).parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv
    )
    print(f"Machine: {machine_summary()}; {load_summary()}")
    print(f"Settings: {asdict(args)}")
    predict = load_predict()
    listing = write_listing(args)
    torch.manual_seed(args.seed)
    photo_count = {} if args.model == "cnn" else {"max_photos": args.photos_per_house}  # the CNN reads one
    model, processor = MODELS[args.model].build(args.preset, **photo_count)
    model.eval()
    store = PhotoStore(os.path.join(args.work_dir, f"cache-seed{args.seed}"), 256, FetchSettings())
    predict_args = predict.PredictArguments(model=["unused"], listing=listing, batch_size=args.batch_size)
    options = predict.DatasetOptions()

    def houses():
        return predict.houses_to_score(predict_args, options, model.config.listing_facts)

    cold_seconds, _ = timed(fetch_relisted_photos, houses(), store, model.config.max_photos)
    scored = houses()
    fetch_seconds, _ = timed(fetch_relisted_photos, scored, store, model.config.max_photos)
    batches = [scored[start : start + args.batch_size] for start in range(0, len(scored), args.batch_size)]

    def preprocess():
        return [processor([[Image.open(path) for path in house.stored] for house in batch]) for batch in batches]

    preprocess_seconds, inputs = timed(preprocess)

    @torch.no_grad()
    def forward():
        for batch in inputs:
            model(**batch, output_attentions=True)

    model_seconds, _ = timed(forward)
    total_seconds, _ = timed(predict.predict_houses, [(model, processor)], scored, args.batch_size)
    stages = {
        "fetch (warm cache)": fetch_seconds,
        "decode + preprocess": preprocess_seconds,
        "model": model_seconds,
        "scoring end to end (decode, preprocess, model, rows)": total_seconds,
        "fetch + scoring, warm": fetch_seconds + total_seconds,
        "fetch, cold (1024x768 JPEGs stored at 256 px)": cold_seconds,
    }
    rows = [
        {"stage": name, "seconds": seconds, "houses_per_second": args.num_houses / seconds}
        for name, seconds in stages.items()
    ]
    print_table(rows, {"stage": "{}", "seconds": "{:.1f}", "houses_per_second": "{:.1f}"})
    return rows


if __name__ == "__main__":
    main()
