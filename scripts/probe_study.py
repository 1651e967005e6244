#!/usr/bin/env python
"""How much a frozen backbone's photo features can say about price, read in other ways than compare.py's probe.

    python scripts/probe_study.py --folds_dir reports/houses-ahmed2016-cv \
        --backbones checkpoints/efficientnet-lite0 checkpoints/efficientnet-lite1 checkpoints/efficientnet-lite2

On the folds a `compare.py` run saved (`FOLDS_DIR/fold-K/dataset`), each variant is fitted on a fold's training
houses, its regularisation chosen on validation accuracy, and tested on the fold's test houses:
- the view of each photo: the centre crop the models and compare.py's probe read (the backbone's processor), or the
  whole photo, its short side resized to the crop's and its aspect ratio kept;
- the house reading: the mean of its photos' features (compare.py's probe), or the features of its first photos
  side by side, in listing order (as many as the house with the fewest has), which keeps which photo is which;
- the target: the tier by a multinomial logistic regression (compare.py's probe), or the log price by a ridge
  regression, cut into tiers at the fold's own cut points;
- and all `--backbones` features side by side (centre crop, mean, logistic regression).
Each photo's features are the mean of its own and its mirror image's with `--flip_tta`. Per-photo features are
cached in FOLDS_DIR. The table (`probe_study.md`) has every variant's validation and test accuracy over folds, and
its paired difference from compare.py's probe of the first backbone (variant − probe, same folds).
"""

import os
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import load_from_disk
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torchvision.transforms import v2
from tqdm import tqdm
from transformers import HfArgumentParser

from dataset_builder import BuildReport, price_tier
from dataset_builder.folds import pool_houses
from zillow_vit import baselines, reporting
from zillow_vit.cli import parse_arguments, run_script, usage_error
from zillow_vit.data import processor_for_backbone
from zillow_vit.metrics import load_tier_metric
from zillow_vit.models import load_backbone
from zillow_vit.models.house_inputs import encode_photos

RIDGE_ALPHAS = (1e1, 1e2, 3e2, 1e3, 3e3, 1e4, 3e4, 1e5)
VIEWS = ("centre crop", "whole photo")


@dataclass
class StudyArguments:
    folds_dir: str = field(metadata={"help": "A compare.py --output_dir with --folds: its fold-K/dataset folders."})
    backbones: list[str] = field(metadata={"help": "Backbones (Hub ids or folders) whose frozen features are read."})
    flip_tta: bool = field(default=False, metadata={"help": "Each photo's features averaged with its mirror image's."})


@dataclass
class Fold:
    train: dict
    validation: dict
    test: dict
    cut_points: list[float]


def whole_photo_transform(backbone: str) -> v2.Compose:
    """The whole photo, its short side at the backbone's crop size, aspect ratio kept, at its mean and std."""
    processor = processor_for_backbone(backbone)
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(min(processor.crop_size), antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=processor.image_mean, std=processor.image_std),
        ]
    )


@torch.no_grad()
def photo_features(houses, backbone: str, view: str, mirrored: bool) -> list[np.ndarray]:
    """Per house, its photos' frozen pooled features `(photos, features)`, in listing order."""
    model = load_backbone(backbone).eval()
    if view == "centre crop":
        transform = processor_for_backbone(backbone).photo_transform()
    else:
        transform = whole_photo_transform(backbone)

    def encode(pixel_values):
        return baselines.photo_features(model, pixel_values)

    features = []
    for photos in tqdm(houses["images"], desc=f"{os.path.basename(backbone)}, {view}", unit="house"):
        # whole photos of other shapes cannot share a batch
        features.append(
            np.concatenate(
                [encode_photos(encode, transform(photo)[None], mirrored, training=False).numpy() for photo in photos]
            )
        )
    return features


def cached_photo_features(folds_dir: str, houses, backbone: str, view: str, mirrored: bool) -> dict:
    """{house id: (photos, features)}, computed once and kept in `folds_dir`."""
    name = f"{os.path.basename(backbone.rstrip('/'))}, {view}{', flip' if mirrored else ''}"
    path = os.path.join(folds_dir, f"features - photos - {name}.npz")
    if not os.path.exists(path):
        features = photo_features(houses, backbone, view, mirrored)
        np.savez(path, ids=np.array(houses["id"]), counts=[len(f) for f in features], values=np.concatenate(features))
    saved = np.load(path)
    return dict(zip(saved["ids"].tolist(), np.split(saved["values"], np.cumsum(saved["counts"])[:-1])))


def read_folds(folds_dir: str) -> list[Fold]:
    folders = sorted(
        (entry for entry in os.listdir(folds_dir) if entry.startswith("fold-")), key=lambda e: int(e.split("-")[1])
    )
    if len(folders) < 2:
        usage_error(f"--folds_dir {folds_dir}: no folds of a compare.py --folds run (fold-K/dataset)")
    folds = []
    for folder in folders:
        dataset_dir = os.path.join(folds_dir, folder, "dataset")
        dataset = load_from_disk(dataset_dir)
        parts = {name: dataset[name].select_columns(["id", "price", "label"]).to_dict() for name in dataset}
        folds.append(Fold(parts["train"], parts["validation"], parts["test"], BuildReport.load(dataset_dir).cut_points))
    return folds


def mean_reading(photos: np.ndarray, _: int) -> np.ndarray:
    return photos.mean(0)


def side_by_side_reading(photos: np.ndarray, count: int) -> np.ndarray:
    return photos[:count].reshape(-1)


READINGS = {"mean of its photos": mean_reading, "its first photos side by side": side_by_side_reading}


def tier_predictions(x: list[np.ndarray], fold: Fold, target: str) -> tuple[np.ndarray, np.ndarray]:
    """(validation, test) tiers of the fitted `target` model, its regularisation chosen on validation accuracy."""
    if target == "tier":
        classifier, _ = baselines.fit_logistic_regression(x[0], fold.train["label"], x[1], fold.validation["label"])
        return classifier.predict(x[1]), classifier.predict(x[2])

    def tiers(model, features):
        return np.array([price_tier(price, fold.cut_points) for price in np.exp(model.predict(features))])

    log_prices = np.log(fold.train["price"])
    fits = [make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x[0], log_prices) for alpha in RIDGE_ALPHAS]
    best = max(fits, key=lambda model: (tiers(model, x[1]) == np.array(fold.validation["label"])).mean())
    return tiers(best, x[1]), tiers(best, x[2])


def fold_summary(metric, fold: Fold, validation_tiers, test_tiers) -> dict:
    """A fold's validation and test accuracy and test confusion matrix (the project's tier metric), in the form
    `reporting.across_splits` reads."""
    test = metric.compute(predictions=test_tiers, references=fold.test["label"])
    validation = metric.compute(predictions=validation_tiers, references=fold.validation["label"])
    return reporting.reference_summary(
        {
            "accuracy": test["accuracy"],
            reporting.VALIDATION_METRIC: validation["accuracy"],
            "confusion_matrix": test["confusion_matrix"],
        }
    )


def study(folds: list[Fold], features: dict[str, dict[str, dict]], count: int) -> dict[str, list[dict]]:
    """{variant: per-fold summaries}; `features` is {backbone name: {view: {house id: photo features}}}."""
    per_fold = {}
    combined = {name: by_view["centre crop"] for name, by_view in features.items()}
    variants = [
        (f"{name}, {view}, {reading}, {target}", [by_view[view]], READINGS[reading], target)
        for name, by_view in features.items()
        for view in VIEWS
        for reading in READINGS
        for target in ("tier", "log price")
    ]
    if len(features) > 1:
        all_names = " + ".join(features)
        variants.append(
            (f"{all_names}, centre crop, mean of its photos, tier", list(combined.values()), mean_reading, "tier")
        )
    metric = load_tier_metric()
    for name, sources, reading, target in variants:
        for fold in folds:
            x = [
                np.stack([np.concatenate([reading(source[h], count) for source in sources]) for h in part["id"]])
                for part in (fold.train, fold.validation, fold.test)
            ]
            per_fold.setdefault(name, []).append(fold_summary(metric, fold, *tier_predictions(x, fold, target)))
    return per_fold


def main(argv: list[str] | None = None) -> dict:
    (args,) = parse_arguments(HfArgumentParser(StudyArguments), argv)
    folds = read_folds(args.folds_dir)
    houses = pool_houses(load_from_disk(os.path.join(args.folds_dir, "fold-1", "dataset")))
    count = min(len(photos) for photos in houses["images"])
    features = {
        os.path.basename(backbone.rstrip("/")): {
            view: cached_photo_features(args.folds_dir, houses, backbone, view, args.flip_tta) for view in VIEWS
        }
        for backbone in args.backbones
    }
    per_fold = study(folds, features, count)
    rows = {name: reporting.across_splits(summaries) for name, summaries in per_fold.items()}
    probe = next(iter(per_fold))
    differences = [
        reporting.paired_differences({name: summaries, probe: per_fold[probe]})[0]
        for name, summaries in per_fold.items()
        if name != probe
    ]
    title = (
        f"Frozen features read other ways: {len(folds)} folds of {args.folds_dir}"
        f"{', flip TTA' if args.flip_tta else ''}; side by side: the first {count} photos"
    )
    markdown = reporting.results_markdown(rows, title) + reporting.differences_markdown(differences)
    with open(os.path.join(args.folds_dir, f"probe_study{'_flip' if args.flip_tta else ''}.md"), "w") as handle:
        handle.write(markdown)
    print(markdown)
    return rows


if __name__ == "__main__":
    run_script(main)
