"""Reference rows for the comparison, computed on the same splits as the models.

- `majority_predictions`: always the most common training tier.
- `colour_features`: per house, the mean over its photos of per-channel means, standard deviations and
  8-bin histograms: a non-deep baseline that sees only colour.
- `backbone_features`: per house, the mean over its photos of a frozen pretrained backbone's pooled
  features; a logistic regression on them is the linear probe that fine-tuning should beat. With the reading
  "all-stages", each photo's pooled features are joined by every stage's hidden states averaged over their
  positions (textures and parts as well as objects): the probe on all the frozen backbone says.

`fit_logistic_regression` chooses the regularisation on the validation split, never on test.

Listing facts (the dataset's fact columns, `--listing_fields`), the reference a photo model has to beat:
- `fact_kinds` / `fact_columns`: which columns are facts (from the build report) and their values per house.
- `LinearFactEncoder`: for a logistic regression: each number with NaN imputed by the training median, a
  missing-indicator column and, for a strictly positive field, its log too; each category one-hot over the values
  seen in training (missing is a value of its own, an unseen one is all zeros).
- `TreeFactEncoder` and `fit_gradient_boosting`: numbers as they are (NaN stays missing) and categories as codes
  of the training values for `HistGradientBoostingClassifier`'s native categorical support, a small grid of depth,
  learning rate and smallest leaf chosen on validation.
"""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .models.house_inputs import encode_photos
from .models.modeling_multi_image_pretrained import pooled_features

REGULARISATION_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
BOOSTING_GRID = tuple(
    {"max_depth": depth, "learning_rate": rate, "min_samples_leaf": leaf}
    for depth in (2, 3, None) for rate in (0.03, 0.1) for leaf in (5, 20)  # 5: a few dozen training houses split too
)  # fmt: skip
BOOSTING_SEED = 0
MAX_TREE_CATEGORIES = 250  # HistGradientBoostingClassifier takes at most 255 bins of a categorical feature
NUMBER, CATEGORY = "number", "category"  # the kinds of a listing fact (as dataset_builder.facts names them)
MISSING_CATEGORY = "(missing)"
PROBE_READINGS = ("pooled", "all-stages")  # what of a frozen backbone a probe reads (`photo_features`)


def majority_predictions(train_labels, num_test: int) -> np.ndarray:
    return np.full(num_test, np.bincount(train_labels).argmax())


def photo_colour_statistics(photo, bins: int = 8) -> np.ndarray:
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float32).reshape(-1, 3) / 255.0
    histograms = [np.histogram(pixels[:, c], bins=bins, range=(0, 1))[0] / len(pixels) for c in range(3)]
    return np.concatenate([pixels.mean(0), pixels.std(0), *histograms])


def colour_features(split) -> np.ndarray:
    """(houses, 30): colour statistics averaged over each house's photos."""
    return np.stack([np.mean([photo_colour_statistics(p) for p in photos], axis=0) for photos in split["images"]])


def photo_features(backbone, pixel_values: torch.Tensor, reading: str = "pooled") -> torch.Tensor:
    """`(n, features)`: a backbone's pooled output for photos `(n, 3, H, W)`; with "all-stages", followed by each of
    its hidden states averaged over positions (a feature map's height and width, a token sequence's tokens)."""
    if reading not in PROBE_READINGS:
        raise ValueError(f"reading must be one of {PROBE_READINGS}, got {reading!r}")
    if reading == "pooled":
        return pooled_features(backbone(pixel_values=pixel_values))
    outputs = backbone(pixel_values=pixel_values, output_hidden_states=True)
    stages = [state.mean(dim=(2, 3)) if state.dim() == 4 else state.mean(dim=1) for state in outputs.hidden_states]
    return torch.cat([pooled_features(outputs), *stages], dim=1)


@torch.no_grad()
def backbone_features(
    split, backbone, transform, batch_size: int = 32, mirrored: bool = False, reading: str = "pooled"
) -> np.ndarray:
    """(houses, features): the frozen backbone's `photo_features` (`reading`), averaged over each house's photos (with
    `mirrored`, each photo's features the mean of its own and its mirror image's, as a model with `test_time_flip`
    reads it)."""
    backbone.eval()

    def encode(pixel_values):
        return torch.cat([photo_features(backbone, chunk, reading) for chunk in pixel_values.split(batch_size)])

    features = []
    for photos in tqdm(split["images"], desc="Backbone features", unit="house"):
        pixel_values = torch.stack([transform(photo) for photo in photos])
        features.append(encode_photos(encode, pixel_values, mirrored, training=False).mean(0).numpy())
    return np.stack(features)


def fit_logistic_regression(train_x, train_y, validation_x, validation_y):
    """Standardised multinomial logistic regression, C picked by validation accuracy."""

    def fit(c):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(train_x, train_y)

    scores = {c: (fit(c).predict(validation_x) == np.asarray(validation_y)).mean() for c in REGULARISATION_GRID}
    best = max(scores, key=scores.get)
    return fit(best), best


FUSION_WEIGHTS = tuple(np.round(np.linspace(1.0, 0.0, 11), 1))  # on the first model's probabilities; 1.0 first


def fused(weight: float, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Predictions of two models' class probabilities averaged with `weight` on the first."""
    return np.argmax(weight * first + (1 - weight) * second, axis=1)


def fusion_weight(first: np.ndarray, second: np.ndarray, validation_y) -> float:
    """Late fusion: the weight on the first model's validation probabilities (of `FUSION_WEIGHTS`, the larger on ties)
    that scores best. Each model keeps its own regularisation, so a wide feature vector (a backbone's 1280 features)
    cannot drown a narrow one (a few listing facts) as one joint fit would."""
    return float(max(FUSION_WEIGHTS, key=lambda w: (fused(w, first, second) == np.asarray(validation_y)).mean()))


def fact_kinds(listing_fields: dict[str, dict]) -> dict[str, str]:
    """column -> "number" or "category" of the listing facts a build report lists (in its order)."""
    return {column: info["kind"] for column, info in listing_fields.items()}


def fact_columns(split, kinds: dict[str, str]) -> dict[str, np.ndarray]:
    """The fact columns of a dataset split: numbers as float64 (NaN: none), categories as object arrays (None: none)."""
    columns = {}
    for column, kind in kinds.items():
        values = list(split[column])
        if kind == NUMBER:
            columns[column] = np.array([np.nan if value is None else value for value in values], dtype=np.float64)
        else:
            columns[column] = np.array(values, dtype=object)
    return columns


def _category_texts(values: np.ndarray) -> np.ndarray:
    return np.array([MISSING_CATEGORY if value is None else str(value) for value in values], dtype=object)


@dataclass
class LinearFactEncoder:
    """Facts as a numeric matrix for a linear model, everything learnt from the training houses only."""

    kinds: dict[str, str]
    medians: dict[str, float] = field(default_factory=dict)
    logged: dict[str, bool] = field(default_factory=dict)
    vocabularies: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, train: dict[str, np.ndarray]) -> "LinearFactEncoder":
        for column, kind in self.kinds.items():
            if kind == NUMBER:
                present = train[column][~np.isnan(train[column])]
                self.logged[column] = bool(len(present)) and bool((present > 0).all())
                self.medians[column] = float(np.median(present)) if len(present) else 0.0
            else:
                self.vocabularies[column] = sorted(set(_category_texts(train[column])))
        return self

    def transform(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """(houses, features): per number its imputed value, a missing indicator and (if logged) the log of the
        imputed value clipped at the smallest positive float; per category one column per training value."""
        blocks = []
        for column, kind in self.kinds.items():
            if kind == NUMBER:
                values = columns[column]
                missing = np.isnan(values)
                imputed = np.where(missing, self.medians[column], values)
                blocks += [imputed[:, None], missing[:, None].astype(np.float64)]
                if self.logged[column]:
                    blocks.append(np.log(np.maximum(imputed, np.finfo(np.float64).tiny))[:, None])
            else:
                index = {value: position for position, value in enumerate(self.vocabularies[column])}
                one_hot = np.zeros((len(columns[column]), len(index)))
                for row, value in enumerate(_category_texts(columns[column])):
                    if value in index:  # a value never seen in training is all zeros
                        one_hot[row, index[value]] = 1.0
                blocks.append(one_hot)
        return np.hstack(blocks) if blocks else np.zeros((len(next(iter(columns.values()), [])), 0))


@dataclass
class TreeFactEncoder:
    """Facts for `HistGradientBoostingClassifier`: numbers as they are, categories as codes of the (at most
    `MAX_TREE_CATEGORIES` most frequent) training values, missing or unseen as NaN. A fact without any training value
    is left out (a single constant column stands in when none is left)."""

    kinds: dict[str, str]
    codes: dict[str, dict[str, int]] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)

    def fit(self, train: dict[str, np.ndarray]) -> "TreeFactEncoder":
        self.used = []
        for column, kind in self.kinds.items():
            if kind == CATEGORY:
                counts = Counter(str(value) for value in train[column] if value is not None)
                common = sorted(counts, key=lambda value: (-counts[value], value))[:MAX_TREE_CATEGORIES]
                self.codes[column] = {value: code for code, value in enumerate(sorted(common))}
                present = bool(common)
            else:
                present = bool((~np.isnan(train[column])).any())
            if present:
                self.used.append(column)
        return self

    @property
    def categorical(self) -> list[bool]:
        """Which columns of `transform` are categorical."""
        return [self.kinds[column] == CATEGORY for column in self.used] or [False]

    def transform(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        blocks = []
        for column in self.used:
            if self.kinds[column] == NUMBER:
                blocks.append(columns[column])
            else:
                codes = self.codes[column]
                blocks.append(np.array([np.nan if v is None else codes.get(str(v), np.nan) for v in columns[column]]))
        if not blocks:
            return np.zeros((len(next(iter(columns.values()), [])), 1))
        return np.stack(blocks, axis=1).astype(np.float64)


def fit_gradient_boosting(train_x, train_y, validation_x, validation_y, categorical: list[bool]):
    """`HistGradientBoostingClassifier` (fixed seed, native categorical and NaN handling), its depth, learning rate
    and smallest leaf picked from `BOOSTING_GRID` by validation accuracy; returns the classifier and the parameters."""

    def fit(parameters):
        classifier = HistGradientBoostingClassifier(
            **parameters,
            max_iter=200,
            early_stopping=False,
            categorical_features=categorical if any(categorical) else None,
            random_state=BOOSTING_SEED,
        )
        return classifier.fit(train_x, train_y)

    with threadpool_limits(1, user_api="openmp"):  # a few hundred houses: threads cost more than they give
        scores = [(fit(p).predict(validation_x) == np.asarray(validation_y)).mean() for p in BOOSTING_GRID]
        best = BOOSTING_GRID[int(np.argmax(scores))]
        return fit(best), dict(best)
