"""`scripts/predict.py --model RUN --listing FILE --house_id ID` scores that house: its own photos, not another's."""

import io

import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification

import zillow_vit  # noqa: F401  (registers the Auto classes)
from dataset_builder.photos import decode_downscaled, encode_jpeg
from zillow_vit.recipes import MODELS

from conftest import load_script, write_listing

HOUSE_COLOURS = {
    "dark": [(10, 10, 10)],
    "bright": [(250, 240, 230), (30, 200, 40), (200, 30, 200)],
    "blue": [(0, 0, 255)],
}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """An untrained tiny vit-scratch run folder (model + image processor); its outputs differ clearly between houses."""
    folder = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    model, processor = MODELS["vit-scratch"].build("tiny", initializer_range=0.1)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def listing(tmp_path_factory):
    """Three houses whose photos differ in colour and number."""
    folder = tmp_path_factory.mktemp("listing")
    houses, photos = [], {}
    for index, (house_id, colours) in enumerate(HOUSE_COLOURS.items()):
        paths = []
        for k, colour in enumerate(colours):
            Image.new("RGB", (48, 40), colour).save(folder / f"{house_id}_{k}.png")
            paths.append(f"{house_id}_{k}.png")
        houses.append({"id": house_id, "price": 100_000 * (index + 1), "images": paths})
        photos[house_id] = [folder / path for path in paths]
    return write_listing(folder, houses), photos


def as_stored(path):
    """The photo as the builder's `PhotoStore` (which predict.py fetches through) stores it: downscaled, JPEG."""
    return Image.open(io.BytesIO(encode_jpeg(decode_downscaled(path.read_bytes(), 256))))


def direct_probabilities(run_folder, photo_paths):
    """The run's model applied to these photos through its own image processor."""
    model = AutoModelForImageClassification.from_pretrained(run_folder).eval()
    inputs = AutoImageProcessor.from_pretrained(run_folder)([as_stored(path) for path in photo_paths])
    with torch.no_grad():
        return model(**inputs).logits.softmax(-1)[0].tolist()


@pytest.mark.parametrize("house_id", sorted(HOUSE_COLOURS))
def test_predict_scores_the_house_named_by_its_id(run_folder, listing, house_id):
    listing_path, photos = listing
    cache = listing_path.parent / "photo-cache"
    argv = ["--model", str(run_folder), "--listing", str(listing_path), "--house_id", house_id]
    result = load_script("predict").main([*argv, "--photo_cache_dir", str(cache)])
    assert result["photos_read"] == len(HOUSE_COLOURS[house_id])
    assert list(result["probabilities"].values()) == pytest.approx(
        direct_probabilities(run_folder, photos[house_id]), abs=1e-6
    )
    for other in set(HOUSE_COLOURS) - {house_id}:  # the houses are told apart by the model, so a mix-up would show
        assert list(result["probabilities"].values()) != pytest.approx(
            direct_probabilities(run_folder, photos[other]), abs=0.01
        )


def test_predict_refuses_what_it_cannot_read_in_one_line_before_fetching_a_photo(run_folder, listing, tmp_path, capsys):
    cnn, interrupted = tmp_path / "cnn", tmp_path / "interrupted"
    for saved in MODELS["cnn"].build("tiny"):
        saved.save_pretrained(cnn)
    (interrupted / "checkpoint-3").mkdir(parents=True)  # a run killed before its end
    capsys.readouterr()
    photo = str(listing[1]["dark"][0])
    refusals = [
        (["--model", str(run_folder), str(cnn), "--photos", photo], "the members of an ensemble must share"),
        (["--model", str(run_folder), "--photos", photo, "--facts", '{"sqft": 1}'], "--facts: Unknown listing facts"),
        (["--model", str(interrupted), "--photos", photo], "(no config.json); its checkpoints: checkpoint-3"),
        (["--model", str(run_folder), "--photos", str(tmp_path)], "a folder; give the house's photo files"),
        (["--model", str(run_folder), "--photos", photo, "--split_seed", "3"], "--split_seed: an option of a dataset"),
    ]
    for argv, message in refusals:
        with pytest.raises(SystemExit) as refused:
            load_script("predict").main([*argv, "--photo_cache_dir", str(tmp_path / "cache")])
        error = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress of loading weights
        assert refused.value.code == 2 and "error: " in error and message in error, argv
    assert not (tmp_path / "cache").exists()  # no photo fetched
