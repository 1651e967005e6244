"""The house pipeline that ships with every model: `pipeline(model=folder, trust_remote_code=True)` in a process that
cannot import the project gives the tier of model + processor, probabilities or a score, photos read and attention."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline

from dataset_builder import TIER_NAMES
from zillow_vit.hub import prepare_for_hub
from zillow_vit.recipes import MODELS

from conftest import BLOCK_PROJECT_IMPORTS, write_tiny_vit_checkpoint

# A fresh interpreter where the project cannot be imported: per folder, the pipeline's results on the houses, the
# tiers of model + processor house by house, and the stock image-classification pipeline on one photo.
PIPELINE_AS_REMOTE_CODE = (
    BLOCK_PROJECT_IMPORTS
    + r"""
import json, torch
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline
houses = json.loads(sys.argv[1])
found = {}
for folder in sys.argv[2:]:
    house_tier = pipeline(model=folder, trust_remote_code=True)
    assert type(house_tier).__module__.startswith("transformers_modules."), type(house_tier).__module__
    model = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)
    tiers = []
    for house in houses:
        with torch.no_grad():
            logits = model(**processor(house, max_photos=model.config.max_photos)).logits
        tiers.append(model.config.id2label[int(logits.argmax(-1))])
    found[folder] = {
        "pipeline": house_tier(houses),
        "model_tiers": tiers,
        "one_photo": pipeline("image-classification", model=folder, trust_remote_code=True)(houses[0][0]),
    }
    resaved = folder + "-resaved"  # a Hub user's save of the model loaded as remote code keeps its pipeline
    model.save_pretrained(resaved)
    processor.save_pretrained(resaved)
    found[folder]["resaved"] = pipeline(model=resaved, trust_remote_code=True)(houses)
print(json.dumps(found))
"""
)

# A fresh interpreter without the project nor the libraries the processor reads photos with (torchvision, httpx):
# the model alone loads as remote code and runs on tensors, the processor says what it lacks.
MODEL_WITHOUT_PHOTO_LIBRARIES = (
    BLOCK_PROJECT_IMPORTS
    + r"""
for name in ("torchvision", "httpx"):
    sys.modules[name] = None  # imports of them fail
import torch
from transformers import AutoImageProcessor, AutoModelForImageClassification
model = AutoModelForImageClassification.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
print(tuple(model(torch.zeros(1, 2, 3, 32, 32)).logits.shape))
try:
    AutoImageProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
except ImportError as error:
    print(error)
"""
)

SAVED_MODELS = {  # folder name -> (recipe, head)
    "cnn": ("cnn", "classification"),
    "vit-scratch": ("vit-scratch", "classification"),
    "vit-pretrained": ("vit-pretrained", "classification"),
    "vit-scratch-score": ("vit-scratch", "score"),
}


def save_untrained_run(folder, recipe: str, head_type: str = "classification", backbone: str | None = None):
    """A tiny untrained model of `recipe` saved as train.py saves a run (code, pipeline, processor); returns `folder`."""
    torch.manual_seed(0)
    model, processor = MODELS[recipe].build(
        "tiny",
        backbone=backbone,
        head_type=head_type,
        tier_cut_points=[200_000.0, 400_000.0],
        id2label=dict(enumerate(TIER_NAMES)),
        label2id={tier: index for index, tier in enumerate(TIER_NAMES)},
    )
    prepare_for_hub(model)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """A tiny untrained model per recipe and head, saved as train.py saves a run: {name: folder}."""
    root = tmp_path_factory.mktemp("saved")
    backbone = write_tiny_vit_checkpoint(root / "backbone")
    return {
        name: save_untrained_run(root / name, recipe, head_type, backbone)
        for name, (recipe, head_type) in SAVED_MODELS.items()
    }


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    """Three houses of 1, 3 and 8 photos, as file paths."""
    folder = tmp_path_factory.mktemp("photos")
    houses = []
    for index, count in enumerate((1, 3, 8)):
        house = []
        for k in range(count):
            path = folder / f"house{index}_{k}.jpg"
            Image.new("RGB", (48 + 8 * k, 40), (40 * k % 256, 90 + 50 * index, 200 - 20 * k)).save(path)
            house.append(str(path))
        houses.append(house)
    return houses


def test_every_saved_model_names_the_pipeline_and_carries_its_code(saved_models):
    for folder in saved_models.values():
        config = json.loads((folder / "config.json").read_text())
        assert config["custom_pipelines"] == {
            "house-price-tier": {
                "impl": "pipeline_house.HousePriceTierPipeline",
                "pt": ["AutoModelForImageClassification"],
                "type": "image",
            }
        }
        assert (folder / "pipeline_house.py").is_file() and (folder / "image_processing_house.py").is_file()


def test_pipeline_without_the_project_gives_the_tier_of_model_and_processor(saved_models, houses, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    folders = [str(folder) for folder in saved_models.values()]
    command = [sys.executable, "-c", PIPELINE_AS_REMOTE_CODE, json.dumps(houses), *folders]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.splitlines()[-1])
    for name, folder in saved_models.items():
        remote = found[str(folder)]
        assert [house["tier"] for house in remote["pipeline"]] == remote["model_tiers"], name
        assert {label["label"] for label in remote["one_photo"]} == set(TIER_NAMES), name
        assert remote["resaved"] == remote["pipeline"], name


def test_a_house_gives_one_result_and_houses_a_list(saved_models, houses):
    house_tier = pipeline(model=str(saved_models["vit-scratch"]), trust_remote_code=True)
    one = house_tier(houses[1])
    assert set(one) == {"tier", "probabilities", "photos_read", "photo_attention"}
    assert one["tier"] == max(one["probabilities"], key=one["probabilities"].get)
    assert sum(one["probabilities"].values()) == pytest.approx(1.0)
    assert one["photos_read"] == 3 and sum(one["photo_attention"]) == pytest.approx(1.0, abs=1e-4)
    many = house_tier(houses)
    assert [result["photos_read"] for result in many] == [1, 3, 6]  # the tiny ViT reads the first 6 photos
    assert [len(result["photo_attention"]) for result in many] == [1, 3, 6]
    assert many[1]["tier"] == one["tier"]
    assert many[1]["probabilities"] == pytest.approx(one["probabilities"])
    assert house_tier(houses[0][0])["photos_read"] == 1  # one photo is a house of one photo


@pytest.mark.parametrize("name", ["vit-scratch", "vit-pretrained", "cnn"])
def test_houses_of_different_photo_counts_batched_give_what_they_give_one_at_a_time(saved_models, houses, name):
    house_tier = pipeline(model=str(saved_models[name]), trust_remote_code=True)
    one_at_a_time, batched = house_tier(houses), house_tier(houses, batch_size=2)
    for alone, together in zip(one_at_a_time, batched, strict=True):
        assert together["tier"] == alone["tier"] and together["photos_read"] == alone["photos_read"]
        assert together["probabilities"] == pytest.approx(alone["probabilities"], abs=1e-5)
        assert together.get("photo_attention") == pytest.approx(alone.get("photo_attention"), abs=1e-5)


@pytest.mark.parametrize("name", ["cnn", "vit-scratch", "vit-pretrained"])
def test_a_model_takes_its_processors_photos_in_half_precision_answers_a_tuple_and_refuses_a_house_of_padding(
    saved_models, houses, name
):
    processor = AutoImageProcessor.from_pretrained(saved_models[name])
    inputs = processor(houses[1:])  # float32, as a Hub user's processor gives them
    model = AutoModelForImageClassification.from_pretrained(saved_models[name]).eval()
    half = AutoModelForImageClassification.from_pretrained(saved_models[name], dtype=torch.bfloat16).eval()
    with torch.no_grad():
        logits, half_logits = model(**inputs).logits, half(**inputs).logits
        as_tuple = model(**inputs, return_dict=False)
        assert type(as_tuple) is tuple and torch.equal(as_tuple[0], logits)
    assert half_logits.dtype == torch.bfloat16 and torch.allclose(half_logits.float(), logits, atol=0.05)
    inputs["photo_mask"][1] = False
    with pytest.raises(ValueError, match=r"Houses \[1\] of the batch have no photo \(photo_mask\)"):
        model(**inputs)


def test_score_head_gives_a_score_and_no_probabilities(saved_models, houses):
    result = pipeline(model=str(saved_models["vit-scratch-score"]), trust_remote_code=True)(houses[2])
    assert set(result) == {"tier", "score", "photos_read", "photo_attention"}
    assert 0.0 <= result["score"] <= 1.0
    assert result["tier"] == TIER_NAMES[round(result["score"] * 2)]  # nearest of the targets 0, 0.5, 1


def test_cnn_reads_the_first_photo_and_has_no_attention(saved_models, houses):
    result = pipeline(model=str(saved_models["cnn"]), trust_remote_code=True)(houses[2])
    assert result["photos_read"] == 1 and "photo_attention" not in result


def test_a_house_without_photos_or_an_unknown_argument_is_an_error(saved_models, houses):
    house_tier = pipeline(model=str(saved_models["cnn"]), trust_remote_code=True, timeout=5.0)
    assert house_tier(houses[0], timeout=1.0)["photos_read"] == 1
    with pytest.raises(ValueError, match="at least one photo"):
        house_tier([])
    with pytest.raises(TypeError, match=r"unexpected arguments \['top_k'\]"):
        house_tier(houses[0], top_k=2)


def test_a_transparent_photo_url_reads_as_on_white(saved_models, tmp_path, serve):
    plan = Image.new("RGBA", (48, 40), (255, 0, 0, 0))  # transparent red around an opaque black square
    plan.paste((0, 0, 0, 255), (12, 10, 36, 30))
    plan.save(tmp_path / "plan.png")
    Image.alpha_composite(Image.new("RGBA", plan.size, "white"), plan).convert("RGB").save(tmp_path / "on_white.png")
    house_tier = pipeline(model=str(saved_models["vit-scratch"]), trust_remote_code=True)
    from_url = house_tier(f"{serve(tmp_path).url}/plan.png")["probabilities"]
    assert from_url == pytest.approx(house_tier(str(tmp_path / "on_white.png"))["probabilities"], abs=1e-6)
    assert from_url != pytest.approx(house_tier(plan.convert("RGB"))["probabilities"], abs=1e-6)


def test_the_processor_reads_arrays_and_tensors_as_the_same_photo(saved_models, houses):
    processor = AutoImageProcessor.from_pretrained(saved_models["vit-scratch"])
    photo = Image.open(houses[1][1]).convert("RGB")
    pixels = np.array(photo)
    expected = processor(photo)["pixel_values"]
    for same in (pixels, torch.from_numpy(pixels).permute(2, 0, 1)):
        assert torch.equal(processor(same)["pixel_values"], expected)


def truncated_jpeg(path):
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:-2000])  # its pixels cut short
    return str(path)


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (lambda path: None, TypeError, r"houses\[1\]\[1\]: A photo is a PIL image, .*; got NoneType"),
        (truncated_jpeg, OSError, r"houses\[1\]\[1\]: .*/bad\.jpg: image file is truncated"),
        (lambda path: Image.open(truncated_jpeg(path)), OSError, r"houses\[1\]\[1\]: a 64 x 48 RGB image: image file"),
        (lambda path: "http://127.0.0.1:9/a.jpg", OSError, r"houses\[1\]\[1\]: http://127\.0\.0\.1:9/a\.jpg: "),
    ],
    ids=["none", "truncated-file", "truncated-image", "unreachable-url"],
)
def test_a_photo_the_processor_cannot_read_is_named_by_its_place_and_location(saved_models, houses, tmp_path, bad, error, message):  # fmt: skip
    processor = AutoImageProcessor.from_pretrained(saved_models["vit-scratch"])
    with pytest.raises(error, match=message):
        processor([houses[0], [houses[1][0], bad(tmp_path / "bad.jpg")]])


def test_the_processor_refuses_per_call_options_and_empty_houses_and_keeps_a_given_size_unpadded(saved_models, houses):
    folder = saved_models["vit-scratch"]
    processor = AutoImageProcessor.from_pretrained(folder)
    with pytest.raises(TypeError, match=r"takes no per-call \['do_normalize', 'size'\]"):
        processor(houses[0], size={"height": 64, "width": 64}, do_normalize=False)
    with pytest.raises(ValueError, match=r"houses \[1\] have none"):
        processor([houses[0], []])
    larger = AutoImageProcessor.from_pretrained(folder, size={"height": 64, "width": 64})
    white = larger(Image.new("RGB", (48, 40), "white"))["pixel_values"]
    assert white.shape[-2:] == (64, 64) and torch.allclose(white, torch.ones_like(white))  # no black border


def test_a_generator_of_houses_gives_an_iterator_of_their_results(saved_models, houses):
    house_tier = pipeline(model=str(saved_models["vit-scratch"]), trust_remote_code=True)
    assert list(house_tier(house for house in houses)) == house_tier(houses)


def test_the_model_alone_runs_as_remote_code_without_the_libraries_that_read_photos(saved_models, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    command = [sys.executable, "-c", MODEL_WITHOUT_PHOTO_LIBRARIES, str(saved_models["vit-scratch"])]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    shape, refusal = result.stdout.strip().splitlines()[-2:]
    assert shape == "(1, 3)" and refusal.startswith(
        "HousePhotoProcessor reads photos with Pillow, torchvision and httpx"
    )
