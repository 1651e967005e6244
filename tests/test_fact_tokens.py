"""Listing facts as tokens of the house encoder: statistics of the training split only, in the config; a task that
needs photos and facts together; save/load, remote code, pipeline, predict.py and the model card with facts.

The synthetic task: a house's tier is 0 if photo colour level + area level <= 1, 2 if >= 3, else 1 (both levels
0, 1 or 2, each of the 9 pairs equally often). Either modality alone tells the tier of 5 of 9 houses at best (0.556);
both tell every house. On 90 test houses an accuracy of 0.556 has an sd of 0.052, so the bars below (0.9 for both,
single modalities under 0.75) leave over 3 sd either way.
"""

import io
import json
import math
import os
import subprocess
import sys
from collections import Counter

import datasets
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import AutoModelForImageClassification, pipeline

import zillow_vit  # noqa: F401  (registers the Auto classes)
from dataset_builder import TIER_NAMES, BuildReport
from zillow_vit import ensemble, reporting
from zillow_vit.data import collate_houses, fit_listing_facts, house_transforms
from zillow_vit.hub import prepare_for_hub
from zillow_vit.models import HouseCNNConfig, HousePhotoProcessor, MultiImageViTConfig
from zillow_vit.models.listing_facts import ListingFactEncoder
from zillow_vit.recipes import MODELS

from conftest import BLOCK_PROJECT_IMPORTS, load_script

TIER_OF_LEVELS = [[0, 0, 1], [0, 1, 2], [1, 2, 2]]  # [colour level][area level]
COLOURS = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]
AREAS = [900.0, 1800.0, 3600.0]
ZIPCODES = ["85255", "10001", "60601"]  # drawn at random: a category that carries no signal, at times missing or rare
FIELDS = {  # the build report's `listing_fields` of these datasets
    "area": {"path": "hdpData.homeInfo.livingArea", "kind": "number", "missing": 0, "unparseable": 0},
    "zipcode": {"path": "address.zipcode", "kind": "category", "missing": 0, "unparseable": 0},
}
FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "price": datasets.Value("float64"),
        "label": datasets.ClassLabel(names=list(TIER_NAMES)),
        "images": datasets.List(datasets.Image()),
        "area": datasets.Value("float32"),
        "zipcode": datasets.Value("string"),
    }
)
FACTS = [  # a config's listing facts, for models built without training
    {"name": "area", "path": "hdpData.homeInfo.livingArea", "kind": "number", "mean": 7.4, "std": 0.6, "log": True},
    {"name": "zipcode", "path": "address.zipcode", "kind": "category", "vocabulary": ["85255", "10001"]},
    {"name": "beds", "path": "beds", "kind": "number", "mean": 3.0, "std": 1.0},
]
TINY = {"image_size": 16, "patch_size": 8, "photo_num_layers": 1}
TRAIN = ["--model", "vit-scratch", "--preset", "tiny", "--max_photos", "1", "--config_overrides", json.dumps(TINY),
         "--disable_tqdm", "true", "--seed", "0", "--eval_strategy", "no", "--save_strategy", "no",
         "--load_best_model_at_end", "false", "--logging_strategy", "no"]  # fmt: skip


def photo(colour, rng=None) -> Image.Image:
    noise = rng.normal(0, 12, (16, 16, 3)) if rng is not None else 0
    return Image.fromarray(np.clip(np.full((16, 16, 3), colour) + noise, 0, 255).astype(np.uint8))


def png(image: Image.Image) -> dict:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def split_rows(rng, houses_per_pair: int, informative_photos: bool) -> dict:
    rows = {name: [] for name in FEATURES}
    for colour in range(3):
        for area in range(3):
            for _ in range(houses_per_pair):
                tier = TIER_OF_LEVELS[colour][area]
                rows["id"].append(str(len(rows["id"])))
                rows["price"].append(tier + 0.5)
                rows["label"].append(tier)
                rows["images"].append([png(photo(COLOURS[colour] if informative_photos else (128, 128, 128), rng))])
                rows["area"].append(AREAS[area] * rng.uniform(0.9, 1.1))
                rows["zipcode"].append(rng.choice([*ZIPCODES, None, f"rare-{len(rows['id'])}"]))
    return rows


def save_dataset(folder, splits: dict[str, dict]):
    """A saved dataset with fact columns, as the builder saves one (its report's cut points fit `price`)."""
    dataset = datasets.DatasetDict(
        {name: datasets.Dataset.from_dict(rows, features=FEATURES) for name, rows in splits.items()}
    )
    dataset.save_to_disk(folder)
    sizes = {name: len(split) for name, split in dataset.items()}
    BuildReport("synthetic-facts", split_sizes=sizes, cut_points=[1.0, 2.0], listing_fields=FIELDS).save(folder)
    return str(folder)


def synthetic_dataset(folder, informative_photos: bool = True):
    rng = np.random.default_rng(0)
    sizes = {"train": 20, "validation": 5, "test": 10}  # houses per (colour, area) pair: 180, 45, 90
    return save_dataset(folder, {name: split_rows(rng, size, informative_photos) for name, size in sizes.items()})


def train(dataset, output_dir, *extra) -> dict:
    return load_script("train").main([*TRAIN, "--dataset", dataset, "--output_dir", str(output_dir), *extra])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Photos + facts, photos only (same dataset, facts turned off) and facts only (grey photos): {name: (run, metrics)}."""
    root = tmp_path_factory.mktemp("facts")
    informative, grey = synthetic_dataset(root / "houses"), synthetic_dataset(root / "grey-houses", False)
    fit = ["--learning_rate", "3e-3", "--num_train_epochs", "12", "--per_device_train_batch_size", "32",
           "--warmup_steps", "0"]  # fmt: skip
    settings = {
        "both": (informative, []),
        "photos": (informative, ["--use_listing_facts", "false"]),
        "facts": (grey, []),
    }
    return {
        name: (root / name, train(dataset, root / name, *fit, *extra)) for name, (dataset, extra) in settings.items()
    }


def test_photos_and_facts_together_beat_either_alone(runs):
    accuracy = {name: metrics["test_accuracy"] for name, (_, metrics) in runs.items()}
    assert accuracy["both"] >= 0.9, accuracy
    assert accuracy["photos"] < 0.75 and accuracy["facts"] < 0.75, accuracy
    assert accuracy["both"] >= max(accuracy["photos"], accuracy["facts"]) + 0.2, accuracy
    both, photos_only = (AutoModelForImageClassification.from_pretrained(runs[name][0]) for name in ("both", "photos"))
    assert [fact["name"] for fact in both.config.listing_facts] == ["area", "zipcode"]
    assert photos_only.config.listing_facts == [] and photos_only.fact_tokenizer is None


def test_statistics_and_vocabularies_come_from_the_training_split_only(tmp_path):
    """Validation and test houses are larger and in other zip codes: none of that may reach the config."""
    rng = np.random.default_rng(1)
    splits = {name: split_rows(rng, 2, True) for name in ("train", "validation", "test")}
    for name, scale, zipcode in (("validation", 10.0, "11111"), ("test", 50.0, "22222")):
        splits[name]["area"] = [area * scale for area in splits[name]["area"]]
        splits[name]["zipcode"] = [zipcode] * len(splits[name]["zipcode"])
    splits["train"]["area"][:3] = [math.nan] * 3  # missing values are left out of the statistics
    splits["train"]["zipcode"][:2] = [None, "once"]  # so is a missing category; a value seen once is unknown
    dataset = save_dataset(tmp_path / "houses", splits)
    run = tmp_path / "run"
    train(dataset, run, "--max_steps", "1")
    saved = json.loads((run / "config.json").read_text())["listing_facts"]

    areas = np.array(splits["train"]["area"][3:], dtype=np.float32).astype(np.float64)
    values = np.log(areas) if saved[0]["log"] else areas
    assert saved[0] == {"name": "area", "path": "hdpData.homeInfo.livingArea", "kind": "number",
                        "mean": pytest.approx(values.mean()), "std": pytest.approx(values.std()),
                        "log": saved[0]["log"]}  # fmt: skip
    counts = Counter(zipcode for zipcode in splits["train"]["zipcode"] if zipcode is not None)
    seen_twice = [zipcode for zipcode, count in counts.items() if count >= 2]
    assert saved[1]["vocabulary"] == sorted(seen_twice, key=lambda zipcode: (-counts[zipcode], zipcode))
    assert len(saved[1]["vocabulary"]) >= 2 and "once" not in saved[1]["vocabulary"]
    every_split = datasets.concatenate_datasets(list(datasets.load_from_disk(dataset).values()))
    over_all = fit_listing_facts(every_split, FIELDS)
    assert over_all[0]["mean"] != pytest.approx(saved[0]["mean"], rel=0.05)
    assert {"11111", "22222"} <= set(over_all[1]["vocabulary"]) and "11111" not in saved[1]["vocabulary"]


def test_the_cnn_reads_photos_only(tmp_path, caplog):
    rng = np.random.default_rng(2)
    dataset = save_dataset(
        tmp_path / "houses", {name: split_rows(rng, 1, True) for name in ("train", "validation", "test")}
    )
    with caplog.at_level("INFO"):
        load_script("train").main(["--model", "cnn", "--preset", "tiny", "--dataset", dataset, "--max_steps", "1",
                                   "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false",
                                   "--output_dir", str(tmp_path / "cnn"),
                                   "--disable_tqdm", "true", "--max_eval_samples", "3"])  # fmt: skip
    assert "cnn reads photos only: the listing facts ['area', 'zipcode'] are not read" in caplog.text
    assert AutoModelForImageClassification.from_pretrained(tmp_path / "cnn").config.listing_facts == []
    with pytest.raises(ValueError, match="The CNN reads photos only"):
        HouseCNNConfig(listing_facts=FACTS)
    cnn = MODELS["cnn"].build("tiny")[0]
    with pytest.raises(ValueError, match="takes no listing facts"):
        cnn(torch.zeros(1, 1, 3, 32, 32), fact_values=torch.zeros(1, 1))


@pytest.mark.parametrize(
    ("fact", "message"),
    [
        ({"name": "area", "path": "a", "kind": "size", "mean": 0, "std": 1}, "kind must be one of"),
        ({"name": "area", "path": "a", "kind": "number", "mean": 0, "std": 0}, "positive std"),
        ({"name": "zip", "path": "z", "kind": "category", "vocabulary": [85255]}, "a list of text"),
        ({"name": "zip", "path": "z", "kind": "category", "vocabulary": ["1", "1"]}, "repeats a value"),
        ({"path": "z", "kind": "category", "vocabulary": []}, "unique name"),
    ],
)
def test_a_config_refuses_facts_it_could_not_read(fact, message):
    with pytest.raises(ValueError, match=message):
        MultiImageViTConfig(listing_facts=[fact])


def test_encoder_reads_missing_unknown_and_refuses_keys_the_model_does_not_read():
    encode = ListingFactEncoder(MultiImageViTConfig(listing_facts=FACTS).listing_facts)
    inputs = encode([{"area": 2100, "zipcode": "10001", "beds": "4"}, {"zipcode": "99999", "beds": None}, None])
    expected = torch.tensor([[2100.0, 4.0], [math.nan, math.nan], [math.nan, math.nan]])
    torch.testing.assert_close(inputs["fact_values"][:, [0, 2]], expected, equal_nan=True)
    assert inputs["fact_codes"][:, 1].tolist() == [2, 0, -1]  # 1.. vocabulary, 0 unknown, -1 missing
    with pytest.raises(ValueError, match=r"Unknown listing facts \['bedrooms', 'zip'\]: this model reads \['area'"):
        encode([{"area": 1.0}, {"zip": "1", "bedrooms": 2}])
    with pytest.raises(ValueError, match="area is a number; got 'large'"):
        encode([{"area": "large"}])
    with pytest.raises(ValueError, match=r"Unknown listing facts \['area'\]: this model reads no facts"):
        ListingFactEncoder([])([{"area": 1.0}])
    assert ListingFactEncoder([])([None, {}]) == {}
    beyond_float32 = encode([{"area": 1e308}, {"area": -(10**400)}, {"area": math.inf}])["fact_values"][:, 0]
    assert beyond_float32.tolist() == [math.inf, -math.inf, math.inf]  # not finite: read as missing by the model


def model_with_facts(**overrides):
    torch.manual_seed(0)
    return MODELS["vit-scratch"].build("tiny", **{"initializer_range": 0.5, "listing_facts": FACTS, **overrides})[0]


@torch.no_grad()
def test_fact_tokens_are_read_attended_and_survive_save_and_load(tmp_path):
    model = model_with_facts().eval()
    encode = ListingFactEncoder(model.config.listing_facts)
    houses = [{"area": 2100, "zipcode": "85255", "beds": 3}, {"area": 2100, "zipcode": "99999", "beds": 3}, {}]
    pixel_values = torch.randn(1, 2, 3, 32, 32).expand(3, -1, -1, -1, -1)
    output = model(pixel_values, **encode(houses), output_attentions=True)
    assert output.fact_attention.shape == (3, 3) and (output.fact_attention > 0).all()
    torch.testing.assert_close(output.photo_attention.sum(-1) + output.fact_attention.sum(-1), torch.ones(3))
    assert not torch.allclose(output.logits[0], output.logits[1])  # an unknown zip code is not a known one
    torch.testing.assert_close(model(pixel_values[:1]).logits, output.logits[2:])  # no facts given: all missing
    changed = model(pixel_values[:1], **encode([{**houses[0], "area": 900}])).logits
    assert not torch.allclose(changed, output.logits[:1])
    assert model.fact_tokenizer.number_vectors.shape == (2, 64)  # area and beds
    assert model.fact_tokenizer.category_embeddings.num_embeddings == 3  # unknown + 2 zip codes

    prepare_for_hub(model)
    model.save_pretrained(tmp_path)
    assert {"fact_tokenizer.field_embeddings", "fact_tokenizer.category_embeddings.weight"} <= set(
        load_file(tmp_path / "model.safetensors")
    )
    assert (tmp_path / "listing_facts.py").is_file()
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.listing_facts == model.config.listing_facts
    assert torch.equal(loaded(pixel_values, **encode(houses), output_attentions=True).logits, output.logits)
    with pytest.raises(ValueError, match=r"must be \(batch, facts\) = \(3, 3\)"):
        model(pixel_values, fact_values=torch.zeros(3, 2), fact_codes=torch.zeros(3, 2, dtype=torch.long))


@torch.no_grad()
def test_a_photos_only_model_has_no_fact_weights_and_refuses_facts():
    torch.manual_seed(0)
    built = MODELS["vit-scratch"].build("tiny")[0].eval()
    torch.manual_seed(0)
    empty = MODELS["vit-scratch"].build("tiny", listing_facts=[])[0].eval()
    assert built.config.listing_facts == [] and built.state_dict().keys() == empty.state_dict().keys()
    assert not any("fact" in name for name in built.state_dict())
    assert all(torch.equal(built.state_dict()[name], empty.state_dict()[name]) for name in built.state_dict())
    output = built(torch.randn(2, 3, 3, 32, 32), output_attentions=True)
    assert output.fact_attention is None and len(output.to_tuple()) == 3  # logits, attentions, photo_attention
    with pytest.raises(ValueError, match="reads no listing facts"):
        built(torch.randn(1, 1, 3, 32, 32), fact_values=torch.zeros(1, 0))


def test_transforms_and_collator_give_the_fact_tensors_of_the_config():
    rows = split_rows(np.random.default_rng(3), 1, True)
    houses = datasets.Dataset.from_dict(rows, features=FEATURES)
    facts = MultiImageViTConfig(listing_facts=FACTS[:2]).listing_facts
    processor = HousePhotoProcessor(size={"height": 16, "width": 16})
    houses.set_transform(house_transforms(processor, 2, False, facts)["validation"])
    batch = collate_houses([houses[index] for index in range(4)])
    expected = ListingFactEncoder(facts)([{"area": rows["area"][i], "zipcode": rows["zipcode"][i]} for i in range(4)])
    assert torch.equal(batch["fact_values"], expected["fact_values"])
    assert torch.equal(batch["fact_codes"], expected["fact_codes"])
    houses.set_transform(house_transforms(processor, 2, False)["validation"])
    assert set(collate_houses([houses[0]])) == {"pixel_values", "photo_mask", "labels"}


# A fresh interpreter that cannot import the project: the run's house pipeline on houses with facts.
PIPELINE_WITH_FACTS = (
    BLOCK_PROJECT_IMPORTS
    + r"""
import json
from transformers import pipeline
folder, houses = sys.argv[1], json.loads(sys.argv[2])
house_tier = pipeline(model=folder, trust_remote_code=True)
results = house_tier(houses)
try:
    house_tier({"images": houses[0]["images"], "facts": {"area": 900, "bedrooms": 3}})
    refused = None
except ValueError as error:
    refused = str(error)
print(json.dumps({"results": results, "refused": refused, "module": type(house_tier).__module__}))
"""
)


@pytest.fixture(scope="module")
def colour_photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name, colour in zip(("red", "green", "blue"), COLOURS):
        photo(colour).save(folder / f"{name}.png")
    return folder


def test_the_pipeline_of_a_run_reads_facts_without_the_project(runs, colour_photos, tmp_path):
    red, blue = str(colour_photos / "red.png"), str(colour_photos / "blue.png")
    houses = [
        {"images": [red], "facts": {"area": 900.0, "zipcode": "85255"}},  # levels 0 + 0: cheap
        {"images": [red], "facts": {"area": 3600.0, "zipcode": "99999"}},  # 0 + 2: average; unknown zip code
        {"images": [blue], "facts": {"area": 3600.0}},  # 2 + 2: expensive; zip code missing
        {"images": [blue]},  # area missing too
    ]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    command = [sys.executable, "-c", PIPELINE_WITH_FACTS, str(runs["both"][0]), json.dumps(houses)]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["module"].startswith("transformers_modules.")
    assert [house["tier"] for house in found["results"][:3]] == ["cheap", "average", "expensive"]
    for house in found["results"]:
        assert set(house["fact_attention"]) == {"area", "zipcode"}
        assert sum(house["photo_attention"]) + sum(house["fact_attention"].values()) == pytest.approx(1.0, abs=1e-4)
    assert found["refused"].startswith("Unknown listing facts ['bedrooms']: this model reads ['area', 'zipcode']")

    in_process = pipeline(model=str(runs["both"][0]), trust_remote_code=True)
    alone = in_process(houses[0])
    assert alone["probabilities"] == pytest.approx(found["results"][0]["probabilities"], abs=1e-6)
    assert alone["fact_attention"] == pytest.approx(found["results"][0]["fact_attention"], abs=1e-6)
    assert set(in_process([red])["fact_attention"]) == {"area", "zipcode"}  # photos alone: every fact missing
    with pytest.raises(ValueError, match=r'A house is \{"images"'):
        in_process({"photos": [red]})
    photos_only = pipeline(model=str(runs["photos"][0]), trust_remote_code=True)
    assert "fact_attention" not in photos_only([red])
    with pytest.raises(ValueError, match=r"Unknown listing facts \['area'\]: this model reads no facts"):
        photos_only({"images": [red], "facts": {"area": 900.0}})


def test_model_card_names_the_facts_and_where_their_statistics_came_from(runs):
    card = (runs["both"][0] / "README.md").read_text()
    assert "## Listing facts" in card and "training split only" in card
    assert "| `area` | `hdpData.homeInfo.livingArea` | number |" in card
    assert "| `zipcode` | `address.zipcode` | category |" in card
    assert '"facts": {"area": ' in card and '"fact_attention"' in card
    assert "## Listing facts" not in (runs["photos"][0] / "README.md").read_text()


def test_predict_reads_the_facts_at_the_paths_of_the_config(runs, colour_photos, tmp_path, capsys, caplog):
    predict = load_script("predict")
    run, cache = str(runs["both"][0]), ["--photo_cache_dir", str(tmp_path / "cache")]
    red = str(colour_photos / "red.png")
    one = predict.main(["--model", run, "--photos", red, "--facts", '{"area": 3600, "zipcode": "85255"}', *cache])
    assert one["tier"] == "average" and set(one["fact_attention"]) == {"area", "zipcode"}
    with pytest.raises(SystemExit):
        predict.main(["--model", run, "--photos", red, "--facts", '{"rooms": 3}', *cache])
    assert "--facts: Unknown listing facts ['rooms']" in capsys.readouterr().err

    photo(COLOURS[0]).save(tmp_path / "red.png")  # a local listing's photos lie beside it
    records = [
        {
            "id": "small",
            "images": ["red.png"],
            "hdpData": {"homeInfo": {"livingArea": 900}},
            "address": {"zipcode": "1"},
        },
        {"id": "large", "images": ["red.png"], "hdpData": {"homeInfo": {"livingArea": 3600}}, "livingArea": 900},
    ]
    listing = tmp_path / "export.json"
    listing.write_text(json.dumps(records))

    rows = {row["id"]: row for row in predict.main(["--model", run, "--listing", str(listing), *cache])["rows"]}
    assert rows["small"]["tier"] == "cheap" and rows["large"]["tier"] == "average"  # read at the config's path
    assert set(rows["large"]["fact_attention"]) == {"area", "zipcode"}
    assert "has the listing fact" not in caplog.text  # a fact some house has is not absent

    listing.write_text(json.dumps([{"id": "bare", "images": ["red.png"], "sqft": 900}]))  # its facts named otherwise
    predict.main(["--model", run, "--listing", str(listing), *cache])
    for name, path in (("area", "hdpData.homeInfo.livingArea"), ("zipcode", "address.zipcode")):
        assert f"No house of {listing} has the listing fact {name} (at {path})" in caplog.text


def test_the_app_reads_a_listed_house_as_predict_reads_it(runs, colour_photos, tmp_path, monkeypatch):
    """The demo's listing tab gives a house what predict.py gives it: the facts of the config, the photos stored
    as predict.py stores them (a tracking pixel dropped and the next photo in line read instead), and a relisted
    house's first record with a usable photo."""
    pytest.importorskip("gradio", reason="needs the app extra: pip install -e '.[app]'")
    app, run = load_script("app"), str(runs["both"][0])
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "datasets-cache"))
    photo(COLOURS[0]).save(tmp_path / "red.png")
    photo(COLOURS[0]).save(tmp_path / "red-2.png")
    Image.new("RGB", (1, 1), COLOURS[2]).save(tmp_path / "pixel.png")  # a blue tracking pixel before the photos
    records = [{"id": f"area {area:.0f}", "images": ["pixel.png", "red.png", "red-2.png"],
                "hdpData": {"homeInfo": {"livingArea": area}}} for area in AREAS]  # fmt: skip
    records[1:1] = [{"id": "area 3600", "images": ["missing.png", "ftp://x.test/a.jpg"]}]  # listed before, no photo
    listing = tmp_path / "export.json"
    listing.write_text(json.dumps(records))
    rows = load_script("predict").main(["--model", run, "--listing", str(listing), "--photo_cache_dir",
                                        str(tmp_path / "cache")])["rows"]  # fmt: skip
    assert [row["tier"] for row in rows] == ["cheap", None, "cheap", "average"]  # red: levels 0 + area level
    house_tier = app.house_pipeline(run)
    for row in rows[:1] + rows[2:]:
        stored, facts, dropped = app.listing_house(str(listing), row["id"], house_tier, 2)
        assert len(stored) == 2  # the first 2 usable photos: the pixel's place taken by the next in line
        photos, _ = app.open_photos(stored, 2)
        verdict, probabilities, _ = app.tell_tier(house_tier, photos, dropped, facts)
        assert f"Tier: **{row['tier']}**" in verdict and "Left out: " in verdict and "pixel.png" in verdict
        assert probabilities == pytest.approx(row["probabilities"], abs=1e-5)
        if row["id"] == "area 3600":  # each photo left out is named once: failed, or refused (never fetched)
            assert verdict.count("missing.png") == 1 and "ftp://x.test/a.jpg: unsupported scheme 'ftp'" in verdict


def test_the_attention_page_predicts_from_the_inputs_the_evaluation_gives(runs, tmp_path):
    run = runs["both"][0]
    test = datasets.load_from_disk(synthetic_dataset(tmp_path / "houses"))["test"]
    model = AutoModelForImageClassification.from_pretrained(run)
    processor = HousePhotoProcessor.from_pretrained(run)
    outputs = ensemble.split_outputs(model, processor, test.select(range(12)))  # what Trainer.predict gives
    for output, logits in zip(reporting.evaluated(model, processor, list(test.select(range(12)))), outputs["logits"]):
        torch.testing.assert_close(output.logits[0], torch.tensor(logits))
