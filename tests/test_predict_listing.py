"""predict.py on a whole listing export: priced or not, nested fields, bad photos, batches equal single houses."""

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from dataset_builder import price_tier

from conftest import load_script


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "vit-scratch"
    load_script("train").main(
        [
            "--model",
            "vit-scratch",
            "--preset",
            "tiny",
            "--max_photos",
            "3",
            "--num_synthetic_houses",
            "45",
            "--synthetic_image_size",
            "32",
            "--max_steps",
            "3",
            "--learning_rate",
            "1e-2",
            "--output_dir",
            str(folder),
            "--dataset_cache_dir",
            str(folder.parent / "cache"),
            "--disable_tqdm",
            "true",
        ]  # fmt: skip
    )
    return folder


def write_photos(folder, house: int, count: int) -> list[str]:
    """`count` distinct textured JPEG photos of one house, named relative to `folder`."""
    names = []
    for k in range(count):
        pixels = np.random.default_rng([house, k]).integers(0, 256, (48, 64, 3), dtype=np.uint8)
        (folder / "photos").mkdir(exist_ok=True)
        Image.fromarray(pixels).save(folder / "photos" / f"{house}_{k}.jpg")
        names.append(f"photos/{house}_{k}.jpg")
    return names


def predict(run, tmp_path, *argv):
    return load_script("predict").main(["--model", str(run), "--photo_cache_dir", str(tmp_path / "photo-cache"), *argv])


def test_a_listing_without_prices_is_scored_whole(run, tmp_path):
    houses = [{"id": f"h{i}", "images": write_photos(tmp_path, i, 1 + i % 5)} for i in range(7)]
    (tmp_path / "export.json").write_text(json.dumps(houses))
    output = tmp_path / "out" / "predictions.jsonl"
    result = predict(run, tmp_path, "--listing", str(tmp_path / "export.json"), "--output", str(output))
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["id"] for row in rows] == [f"h{i}" for i in range(7)]
    assert all(row["tier"] in ("cheap", "average", "expensive") and "true_tier" not in row for row in rows)
    assert [row["photos_read"] for row in rows] == [min(1 + i % 5, 3) for i in range(7)]
    assert all(len(row["photo_attention"]) == row["photos_read"] for row in rows)
    assert rows[0]["photos_rule"] == "first 3 usable photos in listing order"
    assert result["summary"] == {"houses": 7, "scored": 7, "with_price": 0, "accuracy": None, "output": str(output)}


def test_a_repeated_id_is_reported_not_given_the_first_house_s_tier(run, tmp_path):
    """With prices or without: the repeat is not scored, and the first house is scored on its own photos."""
    houses = [{"id": 5, "price": 100_000, "images": write_photos(tmp_path, 0, 2)},
              {"id": "5", "price": 900_000, "images": write_photos(tmp_path, 1, 2)},
              {"id": "6", "images": write_photos(tmp_path, 2, 2)},
              {"id": "7", "images": write_photos(tmp_path, 3, 2)},
              {"id": "7", "images": write_photos(tmp_path, 4, 3)},
              {"id": "8", "images": ["data:image/jpeg;base64," + "A" * 100_000, *write_photos(tmp_path, 5, 1)]}]  # fmt: skip
    (tmp_path / "export.json").write_text(json.dumps(houses))
    result = predict(run, tmp_path, "--listing", str(tmp_path / "export.json"))
    rows = result["rows"]
    assert [row["problem"] if row["tier"] is None else None for row in rows] == [
        None, "duplicate id (first seen in row 0)", None, None, "duplicate id (first seen in row 3)", None,
    ]  # fmt: skip
    assert rows[5]["photos_dropped"] == [  # an inline photo is named by its start and length, not in full
        {"photo": f"data:image/jpeg;base64,{'A' * 237}... (100023 characters)", "reason": "unsupported scheme 'data'"}
    ]
    assert "probabilities" not in rows[1] and "probabilities" not in rows[4]
    assert result["summary"]["scored"] == 4 and result["summary"]["with_price"] == 1
    alone = predict(run, tmp_path, "--photos", *(str(tmp_path / photo) for photo in houses[3]["images"]))
    assert rows[3]["photos_read"] == 2
    assert list(rows[3]["probabilities"].values()) == pytest.approx(list(alone["probabilities"].values()), abs=1e-6)


def test_a_relisted_house_is_scored_on_its_first_record_with_a_usable_photo(run, tmp_path):
    """As a build keeps it: the whole listing and --house_id score the same record, whether the first record of the id
    had no photo field or only photos that fail."""
    houses = [{"id": "7", "images": []},
              {"id": "7", "images": write_photos(tmp_path, 0, 2)},
              {"id": "8", "images": ["photos/missing.jpg"]},
              {"id": "8", "images": write_photos(tmp_path, 1, 2)},
              {"id": "8", "images": write_photos(tmp_path, 2, 2)},
              {"id": "7", "images": ["photos/missing-too.jpg"]}]  # fmt: skip
    (tmp_path / "export.json").write_text(json.dumps(houses))
    rows = predict(run, tmp_path, "--listing", str(tmp_path / "export.json"))["rows"]
    assert [row["problem"] if row["tier"] is None else None for row in rows] == [
        "no photos", None, "no usable photos (1 failed)", None, "duplicate id (first seen in row 2)",
        "duplicate id (first seen in row 1)",
    ]  # fmt: skip
    assert rows[5]["photos_dropped"] == []  # a later record of a scored house is not fetched
    for house_id, scored in (("7", rows[1]), (" 8 ", rows[3])):  # an id typed with spaces is the id
        alone = predict(run, tmp_path, "--listing", str(tmp_path / "export.json"), "--house_id", house_id)
        assert alone["probabilities"] == pytest.approx(scored["probabilities"], abs=1e-6)


def test_a_photo_that_failed_is_not_fetched_again_for_a_later_record(run, tmp_path, serve):
    photos = write_photos(tmp_path, 0, 1)
    houses = [{"id": "9", "images": ["photos/gone.jpg"]}, {"id": "9", "images": ["photos/gone.jpg", *photos]}]
    (tmp_path / "export.json").write_text(json.dumps(houses))
    server = serve(tmp_path)
    rows = predict(run, tmp_path, "--listing", f"{server.url}/export.json")["rows"]
    assert rows[0]["problem"] == "no usable photos (1 failed)" and rows[1]["photos_read"] == 1
    assert server.hits["/photos/gone.jpg"] == 1


def test_test_time_flip_flag_reads_as_a_config_with_it_does(run, tmp_path):
    """`--test_time_flip true` is the run with `test_time_flip` set in its config.json; without it, its config holds."""
    photos = [str(tmp_path / name) for name in write_photos(tmp_path, 7, 3)]
    flipped_run = tmp_path / "flipped-run"
    shutil.copytree(run, flipped_run)
    config = json.loads((flipped_run / "config.json").read_text())
    assert config["test_time_flip"] is False
    (flipped_run / "config.json").write_text(json.dumps({**config, "test_time_flip": True}))

    def probabilities(model, *flip):
        row = load_script("predict").main(["--model", str(model), "--photo_cache_dir", str(tmp_path / "photo-cache"),
                                           "--photos", *photos, *flip])  # fmt: skip
        return list(row["probabilities"].values())

    flipped = probabilities(flipped_run)
    assert probabilities(run, "--test_time_flip", "true") == pytest.approx(flipped, abs=1e-6)
    assert probabilities(flipped_run, "--test_time_flip", "false") == pytest.approx(probabilities(run), abs=1e-6)
    assert probabilities(run) != pytest.approx(flipped, abs=1e-6)


@pytest.fixture
def zillow_export(tmp_path):
    """Zillow-style nested records: prices under hdpData.homeInfo.price (one missing), photos as carousel objects;
    house z2 has a bad photo among good ones, house z3 none usable."""
    prices = [150_000, 480_000, 900_000, None, 2_000_000]
    records = []
    for i, price in enumerate(prices):
        photos = [{"url": name} for name in write_photos(tmp_path, 100 + i, 4)]
        record = {"zpid": f"z{i}", "hdpData": {"homeInfo": {"price": price}}, "carouselPhotos": photos}
        records.append(record)
    (tmp_path / "photos" / "broken.jpg").write_text("not a photo")
    records[2]["carouselPhotos"].insert(1, {"url": "photos/broken.jpg"})
    records[3]["carouselPhotos"] = [{"url": "photos/broken.jpg"}, {"url": "photos/missing.jpg"}]
    (tmp_path / "zillow.json").write_text(json.dumps({"cat1": {"searchResults": {"listResults": records}}}))
    return tmp_path / "zillow.json"


NESTED_FIELDS = ["--id_field", "zpid", "--price_field", "hdpData.homeInfo.price", "--images_field", "carouselPhotos"]


def test_nested_export_with_bad_photos_and_the_accuracy_summary(run, tmp_path, zillow_export):
    output = tmp_path / "predictions.csv"
    result = predict(run, tmp_path, "--listing", str(zillow_export), *NESTED_FIELDS, "--output", str(output))
    rows = {row["id"]: row for row in result["rows"]}
    assert rows["z2"]["photos_read"] == 3 and [d["photo"].rsplit("/", 1)[-1] for d in rows["z2"]["photos_dropped"]] == [
        "broken.jpg"
    ]
    assert rows["z3"]["tier"] is None and rows["z3"]["problem"] == "no usable photos (2 failed)"
    assert "price" not in rows["z3"]
    cut_points = json.loads((run / "config.json").read_text())["tier_cut_points"]
    names = ["cheap", "average", "expensive"]
    judged = [row for row in rows.values() if "price" in row and row["tier"] is not None]
    assert all(row["true_tier"] == names[price_tier(row["price"], cut_points)] for row in judged)
    by_hand = sum(row["tier"] == row["true_tier"] for row in judged) / len(judged)
    assert result["summary"]["with_price"] == 4 and result["summary"]["accuracy"] == pytest.approx(by_hand)
    with open(output, newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [row["id"] for row in written] == ["z0", "z1", "z2", "z3", "z4"] and written[3]["tier"] == ""


def test_batches_equal_houses_scored_one_by_one(run, tmp_path, zillow_export):
    listing = ["--listing", str(zillow_export), *NESTED_FIELDS]
    batched = predict(run, tmp_path, *listing, "--batch_size", "3")["rows"]
    for row in batched:
        if row["tier"] is None:
            continue
        alone = predict(run, tmp_path, *listing, "--house_id", row["id"])
        assert alone["tier"] == row["tier"]
        assert list(alone["probabilities"].values()) == pytest.approx(list(row["probabilities"].values()), abs=1e-6)
        assert alone["photo_attention"] == pytest.approx(row["photo_attention"], abs=1e-4)


def test_speed_benchmark_runs_every_stage(tmp_path):
    rows = load_script("bench_predict").main(
        ["--work_dir", str(tmp_path), "--num_houses", "6", "--photos_per_house", "2", "--preset", "tiny"]
    )
    assert [row["stage"].split(" ")[0] for row in rows] == ["fetch", "decode", "model", "scoring", "fetch", "fetch,"]
    assert all(row["houses_per_second"] > 0 for row in rows)
