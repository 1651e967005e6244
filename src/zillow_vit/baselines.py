"""Reference rows for the comparison, computed on the same splits as the models.

- `majority_predictions`: always the most common training tier.
- `colour_features`: per house, the mean over its photos of per-channel means, standard deviations and
  8-bin histograms: a non-deep baseline that sees only colour.
- `backbone_features`: per house, the mean over its photos of a frozen pretrained backbone's pooled
  features; a logistic regression on them is the linear probe that fine-tuning should beat.

`fit_logistic_regression` chooses the regularisation on the validation split, never on test.
"""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

REGULARISATION_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def majority_predictions(train_labels, num_test: int) -> np.ndarray:
    return np.full(num_test, np.bincount(train_labels).argmax())


def photo_colour_statistics(photo, bins: int = 8) -> np.ndarray:
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float32).reshape(-1, 3) / 255.0
    histograms = [np.histogram(pixels[:, c], bins=bins, range=(0, 1))[0] / len(pixels) for c in range(3)]
    return np.concatenate([pixels.mean(0), pixels.std(0), *histograms])


def colour_features(split) -> np.ndarray:
    """(houses, 30): colour statistics averaged over each house's photos."""
    return np.stack([np.mean([photo_colour_statistics(p) for p in photos], axis=0) for photos in split["images"]])


@torch.no_grad()
def backbone_features(split, backbone, transform, batch_size: int = 32) -> np.ndarray:
    """(houses, features): the frozen backbone's pooled features, averaged over each house's photos."""
    backbone.eval()
    features = []
    for photos in tqdm(split["images"], desc="Backbone features", unit="house"):
        pixel_values = torch.stack([transform(photo) for photo in photos])
        outputs = [backbone(pixel_values=chunk).pooler_output for chunk in pixel_values.split(batch_size)]
        features.append(torch.cat(outputs).mean(0).numpy())
    return np.stack(features)


def fit_logistic_regression(train_x, train_y, validation_x, validation_y):
    """Standardised multinomial logistic regression, C picked by validation accuracy."""

    def fit(c):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(train_x, train_y)

    scores = {c: (fit(c).predict(validation_x) == np.asarray(validation_y)).mean() for c in REGULARISATION_GRID}
    best = max(scores, key=scores.get)
    return fit(best), best
