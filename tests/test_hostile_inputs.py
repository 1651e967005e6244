"""Hostile photos, servers, listings and caches: each becomes a dropped photo or a skipped house with its
reason (or one clear error), never a crash, a hang or a silent acceptance."""

import gzip
import io
import json
import os
import random
import re
import signal
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from dataset_builder import FetchSettings, ListingFormatError, PhotoStore, build_house_dataset, read_listings
from dataset_builder.listing import parse_id, parse_price, read_bytes
from dataset_builder.locations import redact
from dataset_builder.photos import PhotoError, decode_downscaled

from conftest import simple_houses, write_listing, write_photo

FAST = {"download_workers": 4, "download_timeout": 2, "download_retries": 1, "download_backoff": 0.01}


def build(source, tmp_path, **options):
    return build_house_dataset(str(source), cache_dir=str(tmp_path / "cache"), **{**FAST, **options})


def photo_bytes(format_name, size=(48, 32), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, (180, 40, 90) if mode == "RGB" else 120).save(buffer, format=format_name)
    return buffer.getvalue()


def png_declaring(width, height):
    """A tiny PNG whose header declares `width` x `height` pixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


# --- a loopback fault server ---------------------------------------------------------------------------------


def answer(status, headers=(), body=b""):
    def route(handler):
        handler.close_connection = ("Connection", "close") in headers
        handler.send_response(status)
        for name, value in dict({"Content-Length": str(len(body))}, **dict(headers)).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return route


def drip(server, interval=0.2):
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        for _ in range(100):  # 20 s in all: a test without a deadline fails instead of hanging
            if server.stopping.wait(interval):
                return
            handler.wfile.write(b"\xff")
            handler.wfile.flush()

    return route


def drip_headers(server, interval=0.2):
    def route(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):
            if server.stopping.wait(interval):
                return
            handler.wfile.write(b"X")
            handler.wfile.flush()

    return route


def silence(server):
    def route(handler):
        server.stopping.wait(30)

    return route


FAULTS = {
    # path: (route factory, expected reason)
    "/redirect-loop.jpg": (
        lambda s: answer(302, [("Location", "/redirect-loop.jpg")]),
        "too many redirects",
    ),
    "/to-file.jpg": (
        lambda s: answer(302, [("Location", "file:///etc/passwd")]),
        "redirect to a non-http(s) URL",
    ),
    "/to-ftp.jpg": (
        lambda s: answer(302, [("Location", "ftp://127.0.0.1/x.jpg")]),
        "redirect to a non-http(s) URL",
    ),
    "/short-body.jpg": (
        lambda s: answer(200, [("Content-Length", "5000"), ("Connection", "close")], b"\xff\xd8" * 50),
        "network error after 2 tries (connection broken mid-response)",
    ),
    "/bad-gzip.jpg": (
        lambda s: answer(200, [("Content-Encoding", "gzip"), ("Content-Length", "20")], b"not gzip at all....."),
        "undecodable content encoding",
    ),
    "/gzip-text.jpg": (
        lambda s: answer(200, [("Content-Encoding", "gzip")], gzip.compress(b"hello")),
        "undecodable image (not a supported image format)",
    ),
    "/drip.jpg": (drip, "over the deadline of 1.5 s"),
    "/drip-headers.jpg": (drip_headers, "over the deadline of 1.5 s"),
    "/silence.jpg": (silence, "over the deadline of 1.5 s"),
    "/empty.jpg": (
        lambda s: answer(200),
        "undecodable image (not a supported image format)",
    ),
}
MALFORMED_URLS = {
    "http://127.0.0.1:99999/x.jpg": "malformed URL",
    "http:///x.jpg": "malformed URL (no host)",
    "http://[::1/x.jpg": "malformed URL",
    "http://exa mple.com/x.jpg": "malformed URL (whitespace or control characters)",
    "http://127.0.0.1:9/\x00.jpg": "malformed URL (whitespace or control characters)",
}


@pytest.fixture
def fault_server(tmp_path, serve):
    write_photo(tmp_path / "site" / "good.jpg")
    server = serve(tmp_path / "site")
    for path, (factory, _) in FAULTS.items():
        server.routes[path] = factory(server)
    return server


def test_every_faulty_server_and_url_is_a_dropped_photo_with_its_reason(tmp_path, fault_server):
    store = PhotoStore(str(tmp_path / "photos"), settings=FetchSettings(**FAST, photo_deadline=1.5))
    expected = {fault_server.url + path: reason for path, (_, reason) in FAULTS.items()}
    expected.update(MALFORMED_URLS)
    start = time.monotonic()
    results = store.prepare([*expected, fault_server.url + "/good.jpg"])
    assert time.monotonic() - start < 15  # the drips and the silence end at the deadline
    assert {location: results[location].error for location in expected} == expected
    assert results[fault_server.url + "/good.jpg"].path
    assert fault_server.hits["/short-body.jpg"] == 2 and fault_server.hits["/bad-gzip.jpg"] == 1


def test_report_redacts_credentials_and_tokens(tmp_path, fault_server):
    houses = simple_houses(tmp_path / "site", count=9, photos_per_house=1)
    secret_url = fault_server.url.replace("//", "//alice:hunter2@") + "/missing.jpg?X-Amz-Signature=s3cr3t&w=640"
    houses[0]["images"].append(secret_url)
    listing = write_listing(tmp_path / "site", houses)
    _, report = build(f"{fault_server.url.replace('//', '//bob:pa55@')}/{listing.name}?token=t0k3n", tmp_path)
    text = report.to_json() + report.summary()
    for secret in ("hunter2", "alice", "s3cr3t", "pa55", "t0k3n"):
        assert secret not in text
    assert "missing.jpg?X-Amz-Signature=REDACTED&w=640" in text and report.failed_photos[0]["reason"] == "HTTP 404"
    for glued in ("1", "x", "A" * 40, "(", "foo:"):  # a URL glued to what precedes it is still found
        shown = redact(f"{glued}http://u:pw@h.test/x?token=abc")
        assert shown.lower().endswith("http://redacted@h.test/x?token=redacted") and "pw" not in shown


def test_an_inline_photo_is_shown_shortened_in_the_report(tmp_path):
    """A refused `data:` URI of a megabyte names itself in the report by its start and length, not in full."""
    houses = simple_houses(tmp_path, count=9, photos_per_house=1)
    inline = "data:image/jpeg;base64," + "A" * 1_000_000
    houses[0]["images"].append(inline)
    _, report = build(write_listing(tmp_path, houses), tmp_path)
    (failed,) = report.failed_photos
    assert failed["photo"] == f"{inline[:260]}... ({len(inline)} characters)"
    assert failed["reason"] == "unsupported scheme 'data'" and len(report.to_json()) < 10_000


@pytest.mark.parametrize("format_name", ["JPEG", "PNG", "GIF", "WEBP"])
def test_decoding_mutated_bytes_raises_only_photo_error(format_name):
    original = bytearray(photo_bytes(format_name, size=(64, 48)))
    rng = random.Random(format_name)
    outcomes = set()
    for _ in range(150):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            kind, position = rng.random(), rng.randrange(len(data))
            if kind < 0.5:
                data[position] = rng.randrange(256)
            elif kind < 0.75:
                del data[position : position + rng.randint(1, 64)]
            else:
                data[position:position] = rng.randbytes(rng.randint(1, 16))
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        try:
            decode_downscaled(bytes(data), 32)
            outcomes.add("decoded")
        except PhotoError as error:
            assert " at 0x" not in str(error)
            outcomes.add("refused")
    assert outcomes == {"decoded", "refused"}


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_keeps_the_photo_unrotated():
    buffer = io.BytesIO()
    exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06"  # orientation entry, cut short
    Image.new("RGB", (40, 20)).save(buffer, format="JPEG", exif=exif)
    assert decode_downscaled(buffer.getvalue(), 16).size == (32, 16)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_bombs_are_refused_before_decoding_and_big_jpegs_decode_reduced():
    with pytest.raises(PhotoError, match=r"too many pixels \(12000x12000 > cap of 50000000\)"):
        decode_downscaled(png_declaring(12000, 12000), 256)
    with pytest.raises(PhotoError, match="too many pixels"):
        decode_downscaled(png_declaring(100_000, 100_000), 256)
    big_jpeg = photo_bytes("JPEG", size=(4000, 3000))
    assert decode_downscaled(big_jpeg, 64, max_pixels=1_000_000).size == (85, 64)  # decoded at 1/8 scale


def test_tracking_pixels_and_strips_are_refused_before_decoding():
    """A 1x1 GIF or a 60000x10 strip is no photo of a house, and a strip's resize would cost memory by its length."""
    with pytest.raises(PhotoError, match=r"^too small for a photo \(1x1; under 8 px\)$"):
        decode_downscaled(photo_bytes("GIF", size=(1, 1)), 256)
    with pytest.raises(PhotoError, match=r"^not a photo's shape \(60000x10; over 10:1\)$"):
        decode_downscaled(png_declaring(60000, 10), 256)
    with pytest.raises(PhotoError, match=r"^not a photo's shape \(20x210; over 10:1\)$"):
        decode_downscaled(photo_bytes("PNG", size=(20, 210)), 256)
    assert decode_downscaled(photo_bytes("PNG", size=(200, 20)), 256).size == (200, 20)  # 10:1 is kept
    assert decode_downscaled(photo_bytes("PNG", size=(8, 8)), 256).size == (8, 8)


def test_sixteen_bit_greys_are_scaled_not_clipped():
    levels = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, format="PNG")
    photo = np.asarray(decode_downscaled(buffer.getvalue(), 32))
    assert photo.shape == (32, 64, 3) and 120 <= photo.mean() <= 135 and (photo == 255).mean() < 0.01


def test_local_devices_fifos_and_oversized_files_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    (tmp_path / "big.jpg").write_bytes(b"\0" * 2000)
    store = PhotoStore(str(tmp_path / "photos"), settings=FetchSettings(max_photo_bytes=1000))
    results = store.prepare(["/dev/zero", str(fifo), str(tmp_path / "big.jpg"), str(tmp_path / "absent.jpg")])
    assert list(results) == ["/dev/zero", str(fifo), str(tmp_path / "big.jpg"), str(tmp_path / "absent.jpg")]
    assert [result.error for result in results.values()] == [
        "not a regular file",
        "not a regular file",
        "too large (2000 bytes > cap of 1000)",
        "cannot read file (No such file or directory)",
    ]


def test_remote_listing_never_reads_local_files_and_local_paths_stay_in_the_folder(tmp_path, serve):
    site = tmp_path / "site"
    houses = simple_houses(site, count=9, photos_per_house=1)
    secret = write_photo(tmp_path / "secret.jpg", colour=(0, 255, 0))
    houses[0]["images"] += [str(secret), "../secret.jpg", f"file://{secret}", "ftp://127.0.0.1/x.jpg"]
    listing = write_listing(site, houses)
    server = serve(site)
    _, report = build(f"{server.url}/{listing.name}", tmp_path)
    reasons = {item["photo"]: item["reason"] for item in report.failed_photos}
    assert reasons == {
        f"{server.url}{secret}": "HTTP 404",  # the absolute path is a path on the listing's server
        f"{server.url}/secret.jpg": "HTTP 404",
        f"file://{secret}": "unsupported scheme 'file'",
        "ftp://127.0.0.1/x.jpg": "unsupported scheme 'ftp'",
    }
    _, local_report = build(listing, tmp_path / "local")
    refused = {item["photo"]: item["reason"] for item in local_report.failed_photos}
    assert (
        refused[str(secret)]
        == refused["../secret.jpg"]
        == ("local path outside the allowed folder (the export's or --local_photo_root's, links resolved)")
    )
    dataset, wider = build(listing, tmp_path / "wider", local_photo_root=str(tmp_path))
    assert [item["reason"] for item in wider.failed_photos] == ["unsupported scheme 'file'", "unsupported scheme 'ftp'"]
    kept = {
        house_id: len(images) for split in dataset.values() for house_id, images in zip(split["id"], split["images"])
    }
    assert kept["0"] == 2  # its own photo and the secret one (two entries naming the same file)


@pytest.mark.parametrize("dripping", [drip, drip_headers])
def test_a_listing_url_that_drips_fails_at_its_deadline(serve, tmp_path, dripping):
    server = serve(tmp_path)
    server.routes["/houses.json"] = dripping(server)
    started = time.monotonic()
    with pytest.raises(ListingFormatError, match=r"/houses.json: not received within 1 s$"):
        read_bytes(f"{server.url}/houses.json", timeout=5, deadline=1)
    assert time.monotonic() - started < 5


def test_a_gzip_encoded_listing_url_is_read_decoded(serve, tmp_path):
    server = serve(tmp_path)
    body = json.dumps([{"id": index, "price": 1000 * index} for index in range(3000)]).encode()
    server.routes["/houses.json"] = answer(200, [("Content-Encoding", "gzip")], gzip.compress(body))
    assert read_bytes(f"{server.url}/houses.json") == body


def test_a_listing_url_is_read_once_per_build(tmp_path, serve):
    """An API whose answer changes with every request (a timestamp) builds: the bytes read first are used."""
    write_listing(tmp_path, simple_houses(tmp_path, count=9, photos_per_house=1))
    server = serve(tmp_path)
    houses = json.loads((tmp_path / "houses.json").read_text())

    def fresh(handler):
        body = json.dumps({"generatedAt": time.time(), "houses": houses}).encode()
        answer(200, [("Content-Type", "application/json")], body)(handler)

    server.routes["/api.json"] = fresh
    dataset, report = build(f"{server.url}/api.json", tmp_path)
    assert report.houses_kept == 9 and server.hits["/api.json"] == 1


def test_edited_listing_builds_again_and_force_rebuild_ignores_the_cache(tmp_path):
    houses = simple_houses(tmp_path, count=12, photos_per_house=1)
    listing = write_listing(tmp_path, houses)
    _, first = build(listing, tmp_path)
    for house in houses:
        house["price"] *= 2
    write_listing(tmp_path, houses)
    _, edited = build(listing, tmp_path)
    assert edited.cut_points == pytest.approx([2 * point for point in first.cut_points])
    write_photo(tmp_path / "images" / "0_0.jpg", colour=(1, 2, 3))
    builds = tmp_path / "cache" / "zillow_houses"
    before = set(builds.rglob("dataset_info.json"))
    build(listing, tmp_path)  # a local photo changed: a new build
    assert len(set(builds.rglob("dataset_info.json")) - before) == 1
    (next(iter(builds.rglob("build_report.json")))).write_text(json.dumps({"source": "stale", "houses_kept": 1}))
    _, forced = build(listing, tmp_path, force_rebuild=True)
    assert forced.houses_kept == 12


def test_damaged_cache_files_are_refetched(tmp_path, serve):
    write_photo(tmp_path / "a.jpg", size=(300, 200))
    server = serve(tmp_path)
    url = f"{server.url}/a.jpg"
    store = PhotoStore(str(tmp_path / "photos"), short_side=64)
    stored = store.prepare([url])[url].path
    raw = tmp_path / "photos" / "raw" / PhotoStore.key(url)
    raw.write_bytes(raw.read_bytes()[:-50])
    with open(stored, "r+b") as handle:
        handle.truncate(os.path.getsize(stored) // 2)
    result = store.prepare([url])[url]
    assert result.downloaded and server.hits["/a.jpg"] == 2
    Image.open(result.path).load()


def test_ctrl_c_stops_the_workers_long_before_their_deadlines(tmp_path, serve):
    """20 silent photos, 8 at a time, each allowed 120 s: a build that waited for them would take 6 minutes; the
    bound below (a couple of seconds on an idle machine) only leaves room for a loaded one."""
    server = serve(tmp_path)
    server.routes["/silence.jpg"] = silence(server)
    store = PhotoStore(str(tmp_path / "photos"), settings=FetchSettings(download_timeout=120, photo_deadline=120))
    # a job started in the background (CI runners, nohup) inherits SIGINT ignored: make Ctrl-C raise here
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            store.prepare([f"{server.url}/silence.jpg?{index}" for index in range(20)])
        assert time.monotonic() - start < 40
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not list((tmp_path / "photos").rglob("*.tmp"))


@pytest.mark.parametrize(
    "raw",
    [
        "1,2,3",
        "1,,,,0",
        "$$5",
        "\u0661\u0662\u0663",
        "12,34",
        "1.2.3",
        "5$",
        "$-5",
        "1e5",
        "１２３",
        "1" * 400,
        "9" * 5000,
        10**400,
        "NaN",
        "850\u212a",
    ],
)
def test_malformed_prices_are_unparseable(raw):
    with pytest.raises(ValueError, match=r"^unparseable price"):
        parse_price(raw)


@pytest.mark.parametrize(
    ("raw", "expected"), [(True, "bad id (a boolean)"), ({"a": 1}, "bad id (an object)"), ([1], "bad id (an array)"),
                          ("a\nb", "bad id (control or separator characters)"), ("x\x00", "bad id (control or separator characters)"),
                          (1.5, "bad id (a fraction)"), ("  ", "no id"), ("z" * 200, "bad id (longer than 128 characters)")],
)  # fmt: skip
def test_bad_ids_are_refused(raw, expected):
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        parse_id(raw)


def test_huge_numbers_in_a_listing_are_a_house_problem(tmp_path):
    path = tmp_path / "houses.json"
    path.write_text(
        '[{"id": 1, "price": '
        + "9" * 5000
        + ', "images": ["a.jpg"]}, {"id": '
        + "7" * 5000
        + ', "price": 5, "images": ["a.jpg"]}]'
    )
    first, second = read_listings(str(path))
    assert (
        first.price_problem.startswith("unparseable price '99999")
        and second.problem == "bad id (longer than 128 characters)"
    )


def test_listing_encodings(tmp_path):
    records = [{"id": "é", "price": 5, "images": ["a.jpg"]}]
    path = tmp_path / "houses.json"
    path.write_bytes(json.dumps(records, ensure_ascii=False).encode("utf-16"))
    assert read_listings(str(path))[0].house_id == "é"
    path.write_bytes(json.dumps(records, ensure_ascii=False).encode("latin-1"))
    with pytest.raises(ListingFormatError, match=r"houses\.json: not UTF-8 .*byte 0xe9 at offset 9"):
        read_listings(str(path))


def test_degenerate_data_is_refused_in_one_line(tmp_path):
    listing = write_listing(tmp_path, simple_houses(tmp_path, count=4, photos_per_house=1))
    with pytest.raises(
        ValueError, match=r"^Refusing to build: the validation split would be empty \(4 usable houses\)"
    ):
        build(listing, tmp_path)
    houses = simple_houses(tmp_path, count=12, photos_per_house=1)
    for house in houses:
        house["price"] = 500_000
    with pytest.raises(ValueError, match=r"^Refusing to build: the tercile cut points .* are not strictly increasing"):
        build(write_listing(tmp_path, houses, name="flat.json"), tmp_path)
    for index, house in enumerate(houses[6:]):  # half the houses at the lowest price: it is the lower cut point
        house["price"] = 600_000 + 100_000 * index
    tied = r"\d+ cost exactly \$500,000: a tier starts at its cut point\)\.$"
    with pytest.raises(ValueError, match=r"^Refusing to build: no cheap house in the training split .*" + tied):
        build(write_listing(tmp_path, houses, name="skewed.json"), tmp_path)


def test_fields_are_detected_per_record(tmp_path):
    records = [
        {"zpid": 1, "price": "$500,000", "images": ["a.jpg"]},
        {"id": 2, "unformattedPrice": 600000, "photos": [{"url": "b.jpg"}]},
        {"zpid": 3, "price": "Contact agent", "listPrice": "700K", "image_urls": ["c.jpg"]},
        {"zpid": 4, "home_price": 800000, "images": [{"url": "https://x.test/d.jpg", "path": "full/d.jpg"}]},
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(records))
    listings = read_listings(str(path))
    assert [(item.house_id, item.price, item.skip_reason) for item in listings] == [
        ("1", 500000.0, None), ("2", 600000.0, None), ("3", 700000.0, None), ("4", 800000.0, None),
    ]  # fmt: skip
    assert listings[3].photos == ["https://x.test/d.jpg"]


def test_rentals_are_not_read_as_cheap_houses(tmp_path):
    """Zillow's rental results keep the rent as a bare number beside the "/mo" text: neither is a sale price."""
    records = [
        {"zpid": 1, "price": "$2,500/mo", "unformattedPrice": 2500, "imgSrc": "a.jpg"},
        {"zpid": 2, "price": "$1,800 per month", "imgSrc": "b.jpg"},
        {"zpid": 3, "statusType": "FOR_RENT", "unformattedPrice": 3100, "imgSrc": "c.jpg"},
        {"zpid": 4, "hdpData": {"homeInfo": {"price": 2900, "homeStatus": "FOR_RENT"}}, "imgSrc": "d.jpg"},
        {"zpid": 5, "price": "$450,000", "statusType": "FOR_SALE", "status": "Current", "imgSrc": "e.jpg"},
        {"zpid": 6, "price": 380000, "status": "Sold - rental income property", "imgSrc": "f.jpg"},
    ]
    path = tmp_path / "rentals.json"
    path.write_text(json.dumps(records))
    assert [(item.price, item.skip_reason) for item in read_listings(str(path))] == [
        (None, "for rent, not for sale ('$2,500/mo')"),
        (None, "for rent, not for sale ('$1,800 per month')"),
        (None, "for rent, not for sale ('FOR_RENT')"),
        (None, "for rent, not for sale ('FOR_RENT')"),
        (450000.0, None),
        (380000.0, None),
    ]


def test_detail_page_photos_and_photo_fields_of_an_unread_shape(tmp_path):
    """Zillow detail pages list each photo's sizes (`mixedSources`): the smallest that keeps the short side the photos
    are stored at is read (the largest when that is not known), not always the largest. A photo
    field holding a shape that is not read says so, with its keys, instead of "no photos"."""
    sizes = [{"url": f"https://p.example/1-{width}.jpg", "width": width} for width in (1536, 192, 576, 384, 768)]
    records = [
        {"zpid": 1, "price": 500000, "photos": [{"caption": "", "mixedSources": {"jpeg": sizes, "webp": []}}]},
        {"zpid": 2, "price": 500000, "photos": [{"mixedSources": {"jpeg": sizes[1:2]}}]},
        {"zpid": 3, "price": 500000, "photos": [{"caption": "front", "link": "https://p.example/3.jpg"}]},
        {"zpid": 4, "price": 500000, "images": [["a.jpg"]]},
        {"zpid": 5, "price": 500000, "images": []},
    ]
    path = tmp_path / "detail.json"
    path.write_text(json.dumps(records))
    listings = read_listings(str(path), photo_short_side=384)  # a 3:2 photo keeps a short side of 384 at 576 wide
    assert [listing.photos for listing in listings[:2]] == [
        ["https://p.example/1-576.jpg"],
        ["https://p.example/1-192.jpg"],
    ]
    for short_side, width in ((256, 384), (400, 768), (1024, 1536), (None, 1536)):
        assert read_listings(str(path), photo_short_side=short_side)[0].photos == [f"https://p.example/1-{width}.jpg"]
    texts = [{**size, "width": str(size["width"])} for size in sizes]  # widths written as their digits
    small_jpegs = {"jpeg": sizes[1:2], "webp": [{"url": "https://p.example/1-768.webp", "width": 768}]}
    path.write_text(json.dumps([{"zpid": 1, "price": 5, "photos": [{"mixedSources": {"jpeg": texts}}]},
                                {"zpid": 2, "price": 5, "photos": [{"mixedSources": small_jpegs}]}]))  # fmt: skip
    assert [listing.photos for listing in read_listings(str(path), photo_short_side=256)] == [
        ["https://p.example/1-384.jpg"],
        ["https://p.example/1-768.webp"],  # a WebP that keeps the short side over a JPEG that does not
    ]
    assert [listing.skip_reason for listing in listings[2:]] == [
        "no photos in a shape it reads (photos: objects with keys caption, link); name the field with the URLs in "
        "--images_field",
        "no photos in a shape it reads (images: entries like ['a.jpg']); name the field with the URLs in --images_field",
        "no photos",
    ]


def test_zillow_search_results_page(tmp_path):
    def house(zpid, **fields):
        return {"zpid": str(zpid), "price": f"${zpid * 1000:,}", "unformattedPrice": zpid * 1000,
                "hdpData": {"homeInfo": {"zpid": zpid, "price": zpid * 1000.0}}, **fields}  # fmt: skip

    composable = {
        "baseUrl": "https://photos.example/fp/{photoKey}-p_e.jpg",
        "photoData": [{"photoKey": "k1"}, {"photoKey": "k2"}],
    }
    page = {
        "cat1": {
            "searchResults": {
                "listResults": [
                    house(101, carouselPhotosComposable=composable, imgSrc="https://photos.example/fp/main.jpg"),
                    house(102, carouselPhotos=[{"url": "https://photos.example/a.jpg"}]),
                ],
                "mapResults": [
                    house(103, imgSrc="https://photos.example/c.jpg"),
                    {"zpid": "104", "hdpData": {"homeInfo": {"price": 9e5}}, "imgSrc": "https://photos.example/d.jpg"},
                ],
            },
            "searchList": {"pagination": {}, "totalResultCount": 4},
        },
        "regionState": {"regionInfo": [{"regionId": 1, "regionType": 6}]},
    }
    path = tmp_path / "search.json"
    path.write_text(json.dumps(page))
    listings = read_listings(str(path))
    assert [(item.house_id, item.price, item.skip_reason) for item in listings] == [
        ("101", 101000.0, None), ("102", 102000.0, None), ("103", 103000.0, None), ("104", 900000.0, None),
    ]  # fmt: skip
    assert listings[0].photos == ["https://photos.example/fp/k1-p_e.jpg", "https://photos.example/fp/k2-p_e.jpg"]
    assert listings[1].photos == ["https://photos.example/a.jpg"]
    nested = read_listings(str(path), price_field="hdpData.homeInfo.price")
    assert [item.price for item in nested] == [101000.0, 102000.0, 103000.0, 900000.0]
