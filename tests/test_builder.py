import io
import json
import time
from dataclasses import asdict

import numpy as np
import pytest
from PIL import Image

from dataset_builder import (
    BuildReport,
    DatasetOptions,
    FetchSettings,
    PhotoStore,
    build_house_dataset,
    price_tier,
    tercile_cut_points,
)
from dataset_builder.report import tier_ranges

from conftest import simple_houses, write_listing, write_photo

FAST_FETCH = FetchSettings(download_workers=4, download_timeout=5, download_retries=2, download_backoff=0.01)
FAST_OPTIONS = DatasetOptions(**asdict(FAST_FETCH))


def build(source, tmp_path, **config):
    return build_house_dataset(str(source), cache_dir=str(tmp_path / "cache"), options=FAST_OPTIONS, **config)


def test_relative_paths_build_splits_labels_and_features(tmp_path):
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=30, photos_per_house=3))
    dataset, report = build(listing, tmp_path, image_short_side=16)
    assert {name: len(split) for name, split in dataset.items()} == {"train": 24, "validation": 3, "test": 3}
    assert dataset["train"].features["label"].names == ["cheap", "average", "expensive"]
    house = dataset["train"][0]
    assert len(house["images"]) == 3 and min(house["images"][0].size) == 16
    ids = [house_id for split in dataset.values() for house_id in split["id"]]
    assert sorted(ids, key=int) == [str(i) for i in range(30)]
    assert report.houses_kept == 30 and report.photos_stored == 90 and not report.failed_photos
    assert report.image_short_side == 16 and "stored with a short side of at most 16 px" in report.summary()


def test_the_synthetic_build_records_the_side_of_its_photos(tmp_path):
    """Its square photos are stored at --synthetic_image_size, which a run saves as its processor's max_short_side."""
    dataset, report = build("synthetic", tmp_path, num_synthetic_houses=30, synthetic_image_size=24)
    assert dataset["train"][0]["images"][0].size == (24, 24)
    assert report.image_short_side == 24 and "at most 24 px" in report.summary()


def test_cut_points_come_from_train_prices_only(tmp_path):
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=60, photos_per_house=1))
    dataset, report = build(listing, tmp_path, validation_fraction=0.2, test_fraction=0.2)
    train_prices = dataset["train"]["price"]
    all_prices = [price for split in dataset.values() for price in split["price"]]
    assert report.cut_points == pytest.approx(tercile_cut_points(train_prices))
    assert report.cut_points != pytest.approx(tercile_cut_points(all_prices))
    for split in dataset.values():
        assert split["label"] == [price_tier(price, report.cut_points) for price in split["price"]]
    assert str(int(report.cut_points[0])) in dataset["train"].info.description.replace(",", "")


def test_splits_are_seeded_and_balanced_over_price(tmp_path):
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=100, photos_per_house=1))
    first, _ = build(listing, tmp_path, split_seed=1)
    again, _ = build(listing, tmp_path / "other", split_seed=1)
    other_seed, _ = build(listing, tmp_path, split_seed=2)
    assert first["test"]["id"] == again["test"]["id"]
    assert first["test"]["id"] != other_seed["test"]["id"]
    for split in ("validation", "test"):  # one house from each price decile
        deciles = sorted((np.array(first[split]["price"]) - 100_000) // 100_000)
        assert deciles == list(range(10))


def test_listing_served_over_http_with_retries(tmp_path, serve):
    write_listing(tmp_path, simple_houses(tmp_path, count=12, photos_per_house=2))
    server = serve(tmp_path)
    server.failures["/images/3_1.jpg"] = [503, 429]
    dataset, report = build(f"{server.url}/houses.json", tmp_path)
    assert report.houses_kept == 12 and report.photos_downloaded == 24 and not report.failed_photos
    assert server.hits["/images/3_1.jpg"] == 3
    assert sum(len(split) for split in dataset.values()) == 12


def test_bad_input_is_skipped_with_its_reason(tmp_path, serve):
    houses = simple_houses(tmp_path, count=12, photos_per_house=1)
    (tmp_path / "images" / "not_a_photo.jpg").write_text("this is text")
    houses += [
        {"id": "noprice", "images": ["images/0_0.jpg"]},
        {"id": "badprice", "price": "TBD", "images": ["images/0_0.jpg"]},
        {"id": "nophotos", "price": 300_000, "images": []},
        {"id": "0", "price": 300_000, "images": ["images/0_0.jpg"]},
        {"id": "broken", "price": 300_000, "images": ["images/not_a_photo.jpg", "images/missing.jpg"]},
        {"id": "partial", "price": 300_000, "images": ["images/1_0.jpg", "images/missing.jpg"]},
    ]
    server = serve(tmp_path)
    listing = write_listing(tmp_path, houses)
    dataset, report = build(f"{server.url}/{listing.name}", tmp_path)
    skipped = {item["id"]: item["reason"] for item in report.skipped_houses}
    assert skipped == {
        "noprice": "no price",
        "badprice": "unparseable price 'TBD'",
        "nophotos": "no photos",
        "0": "duplicate id (first seen in row 0)",
        "broken": "no usable photos (2 failed)",
    }
    failed = {(item["id"], item["photo"].rsplit("/", 1)[-1]): item["reason"] for item in report.failed_photos}
    assert failed[("broken", "missing.jpg")] == "HTTP 404"
    assert failed[("broken", "not_a_photo.jpg")].startswith("undecodable image")
    assert failed[("partial", "missing.jpg")] == "HTTP 404"
    kept = {
        house_id: len(photos) for split in dataset.values() for house_id, photos in zip(split["id"], split["images"])
    }
    assert kept["partial"] == 1 and "broken" not in kept and len(kept) == 13
    assert report.houses_read == 18 and report.houses_kept == 13
    assert "skipped house broken: no usable photos (2 failed)" in report.summary()


def test_a_relisted_house_is_its_first_record_with_a_usable_photo(tmp_path, serve):
    houses = simple_houses(tmp_path, count=12, photos_per_house=1)
    houses += [
        {"id": "0", "price": 999_000, "images": ["images/never_fetched.jpg"]},  # house 0 stored: a plain duplicate
        {"id": "relisted", "price": 500_000, "images": ["images/gone.jpg", "images/gone_too.jpg"]},
        {"id": "relisted", "price": 510_000, "images": ["images/also_gone.jpg"]},
        {"id": "relisted", "price": 520_000, "images": ["images/1_0.jpg"]},
        {"id": "relisted", "price": 530_000, "images": ["images/2_0.jpg"]},
    ]
    server = serve(tmp_path)
    listing = write_listing(tmp_path, houses)
    dataset, report = build(f"{server.url}/{listing.name}", tmp_path)
    kept = {house_id: price for split in dataset.values() for house_id, price in zip(split["id"], split["price"])}
    assert kept["relisted"] == 520_000 and kept["0"] == 100_000 and len(kept) == 13
    assert report.houses_read == 17 and report.houses_kept == 13
    assert [(item["id"], item["reason"]) for item in report.skipped_houses] == [
        ("0", "duplicate id (first seen in row 0)"),
        ("relisted", "no usable photos (2 failed); trying its repeat in row 14"),
        ("relisted", "no usable photos (1 failed); trying its repeat in row 15"),
        ("relisted", "duplicate id (first seen in row 13)"),
    ]
    assert server.hits["/images/never_fetched.jpg"] == 0


def test_a_photo_that_failed_is_not_fetched_again_for_a_later_record(tmp_path, serve):
    houses = simple_houses(tmp_path, count=12, photos_per_house=1)
    houses += [{"id": "relisted", "price": 500_000 + k, "images": ["images/gone.jpg"]} for k in range(3)]
    houses += [{"id": "relisted", "price": 600_000, "images": ["images/gone.jpg", "images/1_0.jpg"]}]
    server = serve(tmp_path)
    listing = write_listing(tmp_path, houses)
    dataset, report = build(f"{server.url}/{listing.name}", tmp_path)
    kept = {house_id: price for split in dataset.values() for house_id, price in zip(split["id"], split["price"])}
    assert kept["relisted"] == 600_000 and server.hits["/images/gone.jpg"] == 1


def test_nothing_usable_is_a_clear_error(tmp_path):
    listing = write_listing(tmp_path, [{"id": "a", "images": ["x.jpg"]}, {"id": "b", "price": 5, "images": []}])
    with pytest.raises(ValueError, match=r"Only 0 usable houses in .*houses\.json"):
        build(listing, tmp_path)


def test_rerun_after_interrupted_fetch_downloads_only_missing_photos(tmp_path, serve):
    houses = simple_houses(tmp_path, count=10, photos_per_house=2)
    write_listing(tmp_path, houses)
    server = serve(tmp_path)
    photo_cache = tmp_path / "photos"
    urls = [f"{server.url}/{photo}" for house in houses for photo in house["images"]]
    # The interrupted first build got the first 7 photos, and left a half-written file behind.
    PhotoStore(str(photo_cache), settings=FAST_FETCH).prepare(urls[:7])
    (photo_cache / "raw" / (PhotoStore.key(urls[7]) + ".1234.tmp")).write_bytes(b"\xff\xd8partial")
    server.hits.clear()
    _, report = build(f"{server.url}/houses.json", tmp_path, photo_cache_dir=str(photo_cache))
    photo_hits = {path for path in server.hits if path.startswith("/images/")}
    assert photo_hits == {url.removeprefix(server.url) for url in urls[7:]}
    assert report.photos_downloaded == 13 and report.photos_stored == 20


def test_photos_are_stored_upright_rgb_and_downscaled(tmp_path):
    sideways = Image.new("L", (120, 60), 128)
    exif = sideways.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90° clockwise to display
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", exif=exif)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "side.jpg").write_bytes(buffer.getvalue())
    houses = simple_houses(tmp_path, count=3, photos_per_house=1)
    houses[0]["images"] = ["images/side.jpg"]
    dataset, _ = build(
        write_listing(tmp_path, houses), tmp_path, image_short_side=30, validation_fraction=0, test_fraction=0
    )
    photo = next(
        images[0] for house_id, images in zip(dataset["train"]["id"], dataset["train"]["images"]) if house_id == "0"
    )
    assert photo.mode == "RGB" and photo.size == (30, 60)


@pytest.mark.parametrize(("short_side", "width"), [(32, 48), (64, 96)])
def test_a_photo_offered_in_several_sizes_is_read_in_the_smallest_that_keeps_the_stored_side(
    tmp_path, serve, short_side, width
):
    for offered in (48, 96, 192):
        write_photo(tmp_path / f"photo-{offered}.jpg", size=(offered, offered * 2 // 3))
    server = serve(tmp_path)
    sizes = [{"url": f"{server.url}/photo-{offered}.jpg", "width": offered} for offered in (192, 48, 96)]
    houses = [{"id": str(index), "price": 1000 * (index + 1), "photos": [{"mixedSources": {"jpeg": sizes}}]}
              for index in range(3)]  # fmt: skip
    listing = write_listing(tmp_path, houses)
    dataset, _ = build(listing, tmp_path, image_short_side=short_side, validation_fraction=0, test_fraction=0)
    assert dataset["train"][0]["images"][0].size == (width, width * 2 // 3)
    assert server.hits[f"/photo-{width}.jpg"] == 1 and sum(server.hits.values()) == 1


def test_oversized_download_is_refused(tmp_path, serve):
    write_photo(tmp_path / "big.jpg", size=(400, 400))
    server = serve(tmp_path)
    store = PhotoStore(str(tmp_path / "photos"), settings=FetchSettings(max_photo_bytes=500, download_retries=0))
    result = store.prepare([f"{server.url}/big.jpg"])[f"{server.url}/big.jpg"]
    assert result.path is None and result.error.startswith("too large")


def test_report_is_saved_beside_the_build(tmp_path):
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=9, photos_per_house=1))
    build(listing, tmp_path)
    reports = list((tmp_path / "cache").rglob("build_report.json"))
    assert len(reports) == 1
    assert json.loads(reports[0].read_text())["houses_kept"] == 9


def test_report_summary_lists_at_most_twenty_of_a_kind():
    report = BuildReport(source="x.json")
    for index in range(25):
        report.skip_house(str(index), "no price")
    summary = report.summary()
    assert "skipped house 19: no price" in summary and "skipped house 20" not in summary
    assert summary.endswith("... and 5 more in build_report.json")


def test_unreachable_host_fails_after_its_retries(tmp_path):
    store = PhotoStore(
        str(tmp_path / "photos"), settings=FetchSettings(download_retries=1, download_backoff=0.01, download_timeout=2)
    )
    url = "http://127.0.0.1:9/nothing.jpg"  # the discard port: nothing listens there
    assert store.prepare([url])[url].error == "network error after 2 tries (connection failed)"


def test_retry_after_is_honoured_and_a_404_is_fetched_once(tmp_path, serve):
    write_photo(tmp_path / "a.jpg")
    server = serve(tmp_path)
    server.failures["/a.jpg"] = [(503, {"Retry-After": "1"})]
    store = PhotoStore(str(tmp_path / "photos"), settings=FetchSettings(download_retries=3, download_backoff=0.01))
    start = time.monotonic()
    results = store.prepare([f"{server.url}/a.jpg", f"{server.url}/missing.jpg"])
    assert time.monotonic() - start >= 0.95  # waited as the server asked, not the 0.01 s backoff
    assert results[f"{server.url}/a.jpg"].path and server.hits["/a.jpg"] == 2
    assert results[f"{server.url}/missing.jpg"].error == "HTTP 404" and server.hits["/missing.jpg"] == 1


def send_chunked(body, chunk_size=100):
    def route(handler):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(body), chunk_size):
            piece = body[start : start + chunk_size]
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    return route


def test_oversized_download_without_content_length_is_refused_while_streaming(tmp_path, serve):
    body = write_photo(tmp_path / "big.jpg", size=(400, 400)).read_bytes()
    server = serve(tmp_path)
    server.routes["/chunked.jpg"] = send_chunked(body)
    store = PhotoStore(str(tmp_path / "photos"), settings=FetchSettings(max_photo_bytes=len(body) // 2))
    url = f"{server.url}/chunked.jpg"
    assert store.prepare([url])[url].error == f"too large (over the cap of {len(body) // 2} bytes)"
    roomy = PhotoStore(str(tmp_path / "roomy"), settings=FetchSettings(max_photo_bytes=len(body)))
    assert roomy.prepare([url])[url].path  # the same chunked response under the cap is stored


def test_cut_points_are_shown_exactly_so_a_price_reads_on_the_right_side():
    ranges = tier_ranges([223_333.33, 400_000.0])
    assert ranges == "cheap < $223,333.33 <= average < $400,000 <= expensive"
    assert price_tier(223_333, [223_333.33, 400_000.0]) == 0  # "$223,333" is below the cut point, as shown
    assert tier_ranges([223_334.004, 400_000.5]) == "cheap < $223,334.01 <= average < $400,000.50 <= expensive"
