"""Hostile-input harness: builds a listing of 12 good houses plus one hostile item per case, each in its own
process with a time limit, and classifies what the builder did (not collected by pytest; used for the
before/after table of issue 10).

    python tests/hostile_harness.py                          # the builder of this checkout
    python tests/hostile_harness.py --builder_root /tmp/old  # a folder holding another dataset_builder/

Outcomes: ok (reported or refused clearly), crash (the build died), hang (over the time limit), silent (the
hostile item passed unreported), and the number of good houses lost.
"""

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_hostile_inputs import FAULTS, drip  # noqa: E402

from conftest import LoopbackServer  # noqa: E402

GOOD = 12
SLOW_DRIP = 5.0  # seconds between bytes, as in the issue


def png(width, height, idat=b"\0" * 64):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(idat)) + chunk(b"IEND", b"")


def jpeg(colour=(200, 40, 40), exif=None):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG", **({"exif": exif} if exif else {}))
    return buffer.getvalue()


def pixel_bomb():
    """A real 12000 x 12000 PNG of about 140 KB that decodes to 144 MB of pixels."""
    buffer = io.BytesIO()
    Image.new("L", (12000, 12000)).save(buffer, format="PNG")
    return buffer.getvalue()


def sixteen_bit_png():
    buffer = io.BytesIO()
    Image.fromarray(np.full((30, 40), 20000, dtype=np.uint16)).save(buffer, format="PNG")
    return buffer.getvalue()


def corrupt_png_chunk():
    data = bytearray(png(8, 8))
    data[16:20] = b"\xff\xff\xff\xff"  # IHDR width far out of range, CRC now wrong
    return bytes(data)


PHOTO_FILES = {  # served as /bad/<name>; photo cases: expected dropped, house kept
    "corrupt-chunk.png": corrupt_png_chunk,
    "corrupt-exif.jpg": lambda: jpeg(exif=b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06"),
    "pixel-bomb.png": lambda: pixel_bomb(),
}
PHOTO_CASES = [f"/bad/{name}" for name in PHOTO_FILES] + [path for path in FAULTS if path != "/drip.jpg"]
PHOTO_CASES += [
    "/slow-drip.jpg",
    "http://127.0.0.1:99999/x.jpg",
    "http:///x.jpg",
    "http://[::1/x.jpg",
    "http://exa mple.com/x.jpg",
]
PRICE_CASES = ["1,2,3", "1,,,,0", "$$5", "\u0661\u0662\u0663", "9" * 400, "DIGITS400", "DIGITS5000"]
ID_CASES = [True, {"a": 1}, [1], "bad\nid"]


def write_site(folder, extra_houses=(), name="houses.json", encoding="utf-8", raw_extra=""):
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    houses = []
    for index in range(GOOD):
        with open(os.path.join(folder, "images", f"{index}.jpg"), "wb") as handle:
            handle.write(jpeg((index * 20, 90, 160)))
        houses.append({"id": f"good{index}", "price": 100_000 + 25_000 * index, "images": [f"images/{index}.jpg"]})
    text = json.dumps(houses + list(extra_houses), ensure_ascii=False)
    for digits in (400, 5000):  # JSON numbers too long for Python's float or int conversion
        text = text.replace(f'"DIGITS{digits}"', "9" * digits)
    if raw_extra:
        text = text[:-1] + ", " + raw_extra + "]"
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(text.encode(encoding))
    return os.path.join(folder, name)


RUNNER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from dataset_builder import build_house_dataset
try:
    dataset, report = build_house_dataset(sys.argv[2], cache_dir=sys.argv[3])
    kept = [house_id for split in dataset.values() for house_id in split["id"]]
    means = {h: float(sum(sum(p.convert("L").getdata()) / (p.width * p.height) for p in images) / max(1, len(images)))
             for split in dataset.values() for h, images in zip(split["id"], split["images"])}
    print(json.dumps({"kept": kept, "report": report.to_json(), "means": means, "cut_points": report.cut_points}))
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {str(error)[:300]}"}))
"""


def run_build(builder_root, source, cache_dir, limit):
    try:
        process = subprocess.run([sys.executable, "-c", RUNNER, builder_root, source, cache_dir],
                                 capture_output=True, text=True, timeout=limit)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"hang": True}
    lines = [line for line in process.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": "died: " + process.stderr.strip().splitlines()[-1][:200]}


def classify(result, hostile_kept=None, refusal=False, silent=None):
    """(outcome, good houses lost)."""
    if result.get("hang"):
        return "hang", GOOD
    if "error" in result:
        clean = refusal and (
            "Refusing" in result["error"] or "ListingFormatError" in result["error"] or "Only" in result["error"]
        )
        return ("ok (refused: " + result["error"][:60] + ")" if clean else "crash (" + result["error"][:70] + ")"), GOOD
    lost = GOOD - sum(house.startswith("good") for house in result["kept"])
    if refusal or (silent and silent(result)):
        return "silent", lost
    return "ok", lost


def cases(work, server):
    base = server.url
    for path in PHOTO_CASES:
        url = path if "://" in path else base + path
        dropped = (
            {} if "exif" in path else {"silent": lambda r: '"id": "h"' not in r["report"]}
        )  # EXIF: kept upright-less
        yield f"photo {path}", [{"id": "h", "price": 700_000, "images": [url, f"{base}/images/0.jpg"]}], dropped
    yield (
        "photo with credentials + token",
        [{"id": "h", "price": 700_000, "images": [base.replace("//", "//u:hunter2@") + "/missing.jpg?token=s3cr3t"]}],
        {"silent": lambda r: "hunter2" in r["report"] or "s3cr3t" in r["report"]},
    )
    yield (
        "16-bit PNG",
        [{"id": "h", "price": 700_000, "images": [f"{base}/bad/16bit.png"]}],
        {"silent": lambda r: r["means"].get("h", 0) > 250},
    )
    for price in PRICE_CASES:
        yield (
            f"price {price[:12]!r}",
            [{"id": "h", "price": price, "images": [f"{base}/images/0.jpg"]}],
            {"silent": lambda r: "h" in r["kept"]},
        )
    for house_id in ID_CASES:
        yield (
            f"id {house_id!r}",
            [{"id": house_id, "price": 700_000, "images": [f"{base}/images/1.jpg"]}],
            {"silent": lambda r: len(r["kept"]) > GOOD},
        )
    yield (
        "absolute local path in remote listing",
        [{"id": "h", "price": 700_000, "images": [os.path.join(work, "secret.jpg")]}],
        {"silent": lambda r: "h" in r["kept"]},
    )
    yield (
        "../ path in remote listing",
        [{"id": "h", "price": 700_000, "images": ["../secret.jpg"]}],
        {"silent": lambda r: "h" in r["kept"]},
    )


def run_case(builder_root, work, name, extra, checks, server_url, limit):
    folder = tempfile.mkdtemp(dir=work)
    write_site(os.path.join(work, "site"), name=os.path.basename(folder) + ".json", extra_houses=extra)
    source = f"{server_url}/{os.path.basename(folder)}.json"
    return name, classify(run_build(builder_root, source, folder, limit), **checks)


def local_cases(builder_root, work, limit):
    """Cases that need a local listing or two builds."""
    rows = []
    folder = tempfile.mkdtemp(dir=work)
    os.mkfifo(os.path.join(folder, "fifo.jpg"))
    for name, photo in (("/dev/zero photo", "/dev/zero"), ("FIFO photo", "fifo.jpg")):
        case = tempfile.mkdtemp(dir=work)
        listing = write_site(
            case,
            [
                {
                    "id": "h",
                    "price": 700_000,
                    "images": [photo if photo.startswith("/") else os.path.join(folder, photo), "images/0.jpg"],
                }
            ],
        )
        rows.append((name, classify(run_build(builder_root, listing, case, limit))))
    for name, encoding in (("Latin-1 listing", "latin-1"), ("UTF-16 listing", "utf-16")):
        case = tempfile.mkdtemp(dir=work)
        listing = write_site(case, [{"id": "café", "price": 700_000, "images": ["images/0.jpg"]}], encoding=encoding)
        result = run_build(builder_root, listing, case, limit)
        outcome = classify(result, refusal=encoding == "latin-1" and "error" in result)
        rows.append((name, (outcome[0], 0 if outcome[0].startswith("ok (refused") else outcome[1])))
    case = tempfile.mkdtemp(dir=work)
    listing = write_site(case, [{"zpid": "z1", "unformattedPrice": 650_000, "images": ["images/1.jpg"]}] * 1)
    result = run_build(builder_root, listing, case, limit)
    rows.append(
        ("record with zpid/unformattedPrice among id/price", classify(result, silent=lambda r: "z1" not in r["kept"]))
    )
    case = tempfile.mkdtemp(dir=work)
    listing = write_site(case)
    first = run_build(builder_root, listing, case, limit)
    with open(listing) as handle:
        houses = json.load(handle)
    for house in houses:
        house["price"] *= 3
    with open(listing, "w") as handle:
        json.dump(houses, handle)
    second = run_build(builder_root, listing, case, limit)
    rows.append(
        ("edited listing (stale build)", classify(second, silent=lambda r: r["cut_points"] == first.get("cut_points")))
    )
    for name, count, same in (("4 usable houses", 4, False), ("12 houses at one price", 12, True)):
        case = tempfile.mkdtemp(dir=work)
        listing = write_site(case)
        with open(listing) as handle:
            houses = json.load(handle)[:count]
        for house in houses:
            house["price"] = 500_000 if same else house["price"]
        with open(listing, "w") as handle:
            json.dump(houses, handle)
        result = run_build(builder_root, listing, case, limit)
        outcome = classify(result, refusal=True)
        rows.append((name, (outcome[0], outcome[1] if outcome[0].split(" ")[0] in ("crash", "hang") else 0)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--builder_root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--limit", type=float, default=150, help="Seconds a build may take before it counts as a hang.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        site = os.path.join(work, "site")
        write_site(site)
        os.makedirs(os.path.join(site, "bad"))
        for name, make in {**PHOTO_FILES, "16bit.png": sixteen_bit_png}.items():
            with open(os.path.join(site, "bad", name), "wb") as handle:
                handle.write(make())
        with open(os.path.join(work, "secret.jpg"), "wb") as handle:
            handle.write(jpeg((0, 255, 0)))
        with LoopbackServer(site) as server:
            for path, (factory, _) in FAULTS.items():
                server.routes[path] = factory(server)
            server.routes["/slow-drip.jpg"] = drip(server, SLOW_DRIP)
            with ThreadPoolExecutor(8) as pool:
                futures = [pool.submit(run_case, args.builder_root, work, name, extra, checks, server.url, args.limit)
                           for name, extra, checks in cases(work, server)]  # fmt: skip
                rows = [future.result() for future in futures]
            rows += local_cases(args.builder_root, work, args.limit)
    counts = {}
    print("| hostile input | outcome | good houses lost |\n|---|---|---|")
    for name, (outcome, lost) in rows:
        print(f"| {name} | {outcome} | {lost} |")
        kind = outcome.split(" ")[0]
        counts[kind] = counts.get(kind, 0) + 1
        counts["good houses lost"] = counts.get("good houses lost", 0) + lost
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
