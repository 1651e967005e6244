"""PhotoStore behaviours the mutation run found untested: backoff that doubles, the declared-size check before any
byte is read, no upscaling of small photos, local photos cached by their content, and stored photos versioned."""

import time

from PIL import Image

from dataset_builder import FetchSettings, PhotoStore, photos

from conftest import write_photo


def test_backoff_doubles_between_retries(tmp_path, serve):
    """Three 503s then the photo: waits of 0.2, 0.4 and 0.8 s (times 1 to 1.5 of jitter) are at least 1.4 s in all;
    a backoff that did not double would wait at most 0.9 s."""
    write_photo(tmp_path / "a.jpg")
    server = serve(tmp_path)
    server.failures["/a.jpg"] = [503, 503, 503]
    store = PhotoStore(str(tmp_path / "cache"), settings=FetchSettings(download_backoff=0.2, download_retries=3))
    start = time.monotonic()
    result = store.prepare([f"{server.url}/a.jpg"])[f"{server.url}/a.jpg"]
    assert result.path and server.hits["/a.jpg"] == 4
    assert time.monotonic() - start >= 1.4


def test_a_declared_size_over_the_cap_is_refused_before_the_body(tmp_path, serve):
    server = serve(tmp_path)

    def huge_then_nothing(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(10**9))
        handler.end_headers()
        server.stopping.wait(30)

    server.routes["/huge.jpg"] = huge_then_nothing
    settings = FetchSettings(max_photo_bytes=1_000_000, photo_deadline=10)
    result = PhotoStore(str(tmp_path / "cache"), settings=settings).prepare([f"{server.url}/huge.jpg"])
    assert result[f"{server.url}/huge.jpg"].error == "too large (1000000000 bytes > cap of 1000000)"


def test_small_photos_are_stored_at_their_own_size(tmp_path):
    photo = write_photo(tmp_path / "small.jpg", size=(40, 30))
    stored = PhotoStore(str(tmp_path / "cache"), short_side=256).prepare([str(photo)])[str(photo)].path
    assert Image.open(stored).size == (40, 30)


def test_an_edited_local_photo_is_stored_again(tmp_path):
    photo = tmp_path / "room.jpg"
    store = PhotoStore(str(tmp_path / "cache"))
    write_photo(photo, colour=(220, 20, 20))
    first = store.prepare([str(photo)])[str(photo)].path
    write_photo(photo, colour=(20, 20, 220))
    second = store.prepare([str(photo)])[str(photo)].path
    assert Image.open(first).getpixel((5, 5))[0] > 150 and Image.open(second).getpixel((5, 5))[2] > 150


def test_a_photo_stored_under_an_older_decoding_is_stored_again(tmp_path, monkeypatch):
    photo = write_photo(tmp_path / "room.jpg", colour=(220, 20, 20))
    first = PhotoStore(str(tmp_path / "cache")).prepare([str(photo)])[str(photo)].path
    monkeypatch.setattr(photos, "to_rgb", lambda image: Image.new("RGB", image.size, (0, 0, 255)))  # a new decoding
    monkeypatch.setattr(photos, "STORED_PHOTO_VERSION", photos.STORED_PHOTO_VERSION + 1)
    second = PhotoStore(str(tmp_path / "cache")).prepare([str(photo)])[str(photo)].path
    assert Image.open(first).getpixel((5, 5))[0] > 150 and Image.open(second).getpixel((5, 5))[2] > 250
