"""Fetch listing photos into an on-disk cache and store each one decoded once, upright and downscaled.

`PhotoStore.prepare(locations)` returns, for every photo location, either the path of its stored
JPEG (EXIF-rotated, RGB, short side at most `short_side` px) or the reason it failed; it never raises
for a bad photo, URL or server. Downloads go through one `requests.Session` with several at once,
timeouts, retries with backoff on connection errors, 429 and 5xx (honouring `Retry-After`), a byte cap,
and an overall deadline per photo that also ends a server dripping bytes. Local files are read only if
they are regular files under the same byte cap. Images declaring more pixels than a cap (after JPEG's
reduced decoding) are refused before decoding. Raw downloads (with a checksum) and stored photos are
cached and written atomically, and verified when read back, so an interrupted or damaged cache is
refetched, and Ctrl-C stops every worker within about a second.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import numpy as np
import requests
import urllib3
from PIL import Image, ImageOps, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from tqdm.auto import tqdm

from .locations import LocalReadError, is_url, read_regular_file, url_problem

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
MAX_REDIRECTS = 5
Image.init()
PHOTO_FORMATS = tuple(name for name in ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP") if name in Image.OPEN)
USER_AGENT = "zillow-vit-dataset-builder"
MIN_PHOTO_SIDE = 8  # px; smaller is a tracking pixel or an icon, not a photo of a house
MAX_PHOTO_ASPECT = 10  # long side / short side; longer is a banner or a strip, not a photo (panoramas are ~2-6)
STORED_PHOTO_VERSION = 2  # raise it when how a photo is decoded or stored changes: no photo stored before is reused
_RAW_MAGIC = b"zillow-vit raw\n"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_WATCH_INTERVAL = 0.1


class PhotoError(Exception):
    """A photo that could not be fetched or decoded; the message is the reason."""


@dataclass
class PhotoResult:
    location: str
    path: str | None = None
    error: str | None = None
    downloaded: bool = False


@dataclass
class FetchSettings:
    """How photos are fetched and decoded; each field is also a dataset option (a command-line flag)."""

    download_workers: int = field(default=8, metadata={"help": "Photos fetched at once."})
    download_timeout: float = field(
        default=20.0, metadata={"help": "Seconds to connect, and to wait for each part of a response."}
    )
    download_retries: int = field(
        default=3, metadata={"help": "Retries of a photo after a network error, HTTP 429 or 5xx."}
    )
    download_backoff: float = field(
        default=0.5, metadata={"help": "First wait before a retry (s), doubled each time, unless Retry-After says."}
    )
    photo_deadline: float = field(
        default=60.0, metadata={"help": "Seconds one photo may take in all, retries included; slower ones fail."}
    )
    max_photo_bytes: int = field(
        default=20 * 1024 * 1024, metadata={"help": "Photos (downloads or local files) larger than this fail."}
    )
    max_photo_pixels: int = field(
        default=50_000_000,
        metadata={"help": "Photos with more pixels than this (after JPEG's reduced decoding) fail before decoding."},
    )


def describe(error: BaseException) -> str:
    """A stable one-line description of an exception: its type and message, without object addresses."""
    message = _ADDRESS.sub("", str(error)).splitlines()[0][:120] if str(error) else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as it is when that cannot be read."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a corrupt EXIF block loses only the orientation, not the photo
        return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with 16- and 32-bit grey levels scaled to 8 bits instead of clipped, and transparent pixels on white
    (as a web page shows them; dropping the alpha channel would turn a transparent background black). The model's
    processor reads a photo the same way (`HousePhotoProcessor`'s `upright_rgb`, Hub code that cannot import this)."""
    if image.mode.startswith("I"):
        levels = np.asarray(image).astype(np.int64)
        grey = Image.fromarray(((levels.clip(0, 65535) * 255 + 32767) // 65535).astype(np.uint8))
        if isinstance(image.info.get("transparency"), int):  # the level a 16-bit PNG shows as transparent
            grey.putalpha(Image.fromarray(np.where(levels == image.info["transparency"], 0, 255).astype(np.uint8)))
        image = grey
    elif image.mode == "F":
        image = Image.fromarray(np.nan_to_num(np.asarray(image)).clip(0, 255).astype(np.uint8))
    if image.has_transparency_data:
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return image.convert("RGB")


def downscale(image: Image.Image, short_side: int) -> Image.Image:
    """Upright RGB copy whose short side is at most `short_side` (never upscaled)."""
    image = to_rgb(upright(image))
    scale = short_side / min(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def decode_downscaled(data: bytes, short_side: int, max_pixels: int = FetchSettings.max_photo_pixels) -> Image.Image:
    """Decode with JPEG draft mode (a reduced-size decode) when the photo is much larger than needed.

    Raises only `PhotoError`, whatever the bytes: an image declaring more than `max_pixels` (counted after
    the reduced decode) is refused before its pixels are decoded.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=PHOTO_FORMATS)
        if min(image.size) < 1:
            raise PhotoError(f"undecodable image (size {image.width}x{image.height})")
        if min(image.size) < MIN_PHOTO_SIDE:
            raise PhotoError(f"too small for a photo ({image.width}x{image.height}; under {MIN_PHOTO_SIDE} px)")
        if max(image.size) > MAX_PHOTO_ASPECT * min(image.size):
            raise PhotoError(f"not a photo's shape ({image.width}x{image.height}; over {MAX_PHOTO_ASPECT}:1)")
        if image.format in ("JPEG", "MPO"):
            scale = short_side / min(image.size)
            image.draft("RGB", (int(image.width * scale) + 1, int(image.height * scale) + 1))
        if image.width * image.height > max_pixels:
            raise PhotoError(f"too many pixels ({image.width}x{image.height} > cap of {max_pixels})")
        image.load()
        return downscale(image, short_side)
    except PhotoError:
        raise
    except Image.DecompressionBombError as error:
        raise PhotoError("too many pixels (over Pillow's limit)") from error
    except UnidentifiedImageError as error:
        raise PhotoError("undecodable image (not a supported image format)") from error
    except Exception as error:  # Pillow's decoders raise many types on hostile bytes; each is a bad photo
        raise PhotoError(f"undecodable image ({describe(error)})") from error


def is_complete_jpeg(data: bytes) -> bool:
    """Whether stored bytes are a whole JPEG (start and end markers) that decodes."""
    if not (data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")):
        return False
    try:
        Image.open(io.BytesIO(data), formats=("JPEG",)).load()
    except Exception:
        return False
    return True


def _write_atomically(path: str, data: bytes) -> None:
    descriptor, tmp_path = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(tmp_path, path)
    except BaseException:
        os.unlink(tmp_path)
        raise


def _read_if_exists(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def network_problem(error: Exception) -> tuple[str, bool]:
    """A stable reason for a failed request, and whether trying again may help."""
    kinds = (
        (requests.TooManyRedirects, "too many redirects", False),
        (requests.exceptions.InvalidSchema, "redirect to a non-http(s) URL", False),
        ((requests.exceptions.InvalidURL, requests.exceptions.MissingSchema), "malformed URL", False),
        (requests.exceptions.ContentDecodingError, "undecodable content encoding", False),
        (requests.exceptions.SSLError, "TLS error", False),
        (requests.exceptions.ChunkedEncodingError, "connection broken mid-response", True),
        (requests.ConnectTimeout, "connect timeout", True),
        (requests.Timeout, "read timeout", True),
        (requests.ConnectionError, "connection failed", True),
    )
    for types, reason, transient in kinds:
        if isinstance(error, types):
            return reason, transient
    return f"request failed ({type(error).__name__})", False


class _Download:
    """One photo's download: its deadline, and the connection it is reading from, which `stop` shuts."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.stopped = False
        self.connection = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attach(self, connection) -> None:
        with self._lock:
            self.connection = connection
            stopped = self.stopped
        if stopped:
            self._shut(connection)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            connection = self.connection
        self._shut(connection)

    @staticmethod
    def _shut(connection) -> None:
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


_current = threading.local()  # the `_Download` a worker thread is running


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args, **kwargs):
        download = getattr(_current, "download", None)
        if download is not None:
            download.attach(self)
        return super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    request = _WatchedHTTPConnection.request


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """An adapter whose connections tell the running `_Download` which socket to shut at its deadline."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class PhotoStore:
    """Cache of raw downloads (`raw/`) and of stored photos (`short<N>-v<STORED_PHOTO_VERSION>/`): URLs are keyed by
    location, local files by content."""

    def __init__(self, cache_dir: str, short_side: int = 256, settings: FetchSettings | None = None):
        self.short_side = short_side
        self.settings = settings or FetchSettings()
        self.raw_dir = os.path.join(cache_dir, "raw")
        self.stored_dir = os.path.join(cache_dir, f"short{short_side}-v{STORED_PHOTO_VERSION}")
        os.makedirs(self.raw_dir, exist_ok=True)
        os.makedirs(self.stored_dir, exist_ok=True)
        self.session = requests.Session()
        self.session.max_redirects = MAX_REDIRECTS
        adapter = _WatchedAdapter(pool_connections=4, pool_maxsize=max(1, self.settings.download_workers))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self._downloads: set[_Download] = set()
        self._downloads_lock = threading.Lock()
        self._cancelled = threading.Event()

    @staticmethod
    def key(location: str) -> str:
        return hashlib.sha256(location.encode("utf-8", "surrogatepass")).hexdigest()

    def prepare(self, locations: list[str], description: str = "Fetching photos") -> dict[str, PhotoResult]:
        """Fetch (if needed), decode and store every distinct location, several at once, with a progress bar.

        A bad photo is a result with an error, never an exception; Ctrl-C (or any exception here) cancels
        the photos not started, stops the running downloads, and re-raises once the workers are done.
        """
        unique = list(dict.fromkeys(locations))
        results = {}
        self._cancelled.clear()
        pool = ThreadPoolExecutor(max(1, self.settings.download_workers))
        watchdog = threading.Thread(target=self._watch_deadlines, daemon=True)
        watchdog.start()
        try:
            futures = [pool.submit(self._prepare_one, location) for location in unique]
            for future in tqdm(as_completed(futures), total=len(futures), desc=description, unit="photo"):
                result = future.result()
                results[result.location] = result
        except BaseException:
            self._cancelled.set()
            pool.shutdown(wait=False, cancel_futures=True)
            self._stop_downloads(everything=True)
            raise
        finally:
            self._cancelled.set()
            pool.shutdown(wait=True)
            watchdog.join()
        return {location: results[location] for location in unique}

    def _watch_deadlines(self) -> None:
        while not self._cancelled.wait(_WATCH_INTERVAL):
            self._stop_downloads(everything=False)

    def _stop_downloads(self, everything: bool) -> None:
        with self._downloads_lock:
            downloads = list(self._downloads)
        for download in downloads:
            if everything or download.remaining() <= 0:
                download.stop()

    def _prepare_one(self, location: str) -> PhotoResult:
        result = PhotoResult(location)
        try:
            result.path, result.downloaded = self._stored_photo(location)
        except PhotoError as error:
            result.error = str(error)
        except Exception as error:  # the last guard of "a bad photo never stops the build"
            result.error = f"unexpected error ({describe(error)})"
        return result

    def _stored_photo(self, location: str) -> tuple[str, bool]:
        """The path of the verified stored photo, made now if missing or damaged, and whether it was downloaded."""
        if self._cancelled.is_set():
            raise PhotoError("cancelled")
        if is_url(location):
            key, data, downloaded = self.key(location), None, False
        else:
            data = self._read_local(location)
            key, downloaded = hashlib.sha256(data).hexdigest(), False
        stored_path = os.path.join(self.stored_dir, key + ".jpg")
        stored = _read_if_exists(stored_path)
        if stored is not None and is_complete_jpeg(stored):
            return stored_path, False
        if data is None:
            data, downloaded = self._raw_bytes(location, key)
        image = decode_downscaled(data, self.short_side, self.settings.max_photo_pixels)
        _write_atomically(stored_path, encode_jpeg(image))
        return stored_path, downloaded

    def _read_local(self, path: str) -> bytes:
        try:
            return read_regular_file(path, self.settings.max_photo_bytes)
        except LocalReadError as error:
            raise PhotoError(str(error)) from error
        except ValueError as error:  # a path with a NUL byte
            raise PhotoError("cannot read file (invalid path)") from error

    def _raw_bytes(self, url: str, key: str) -> tuple[bytes, bool]:
        """The photo's bytes from the raw cache if its checksum holds, else downloaded now (and cached)."""
        raw_path = os.path.join(self.raw_dir, key)
        cached = _read_if_exists(raw_path)
        if cached is not None:
            digest, data = cached[len(_RAW_MAGIC) : len(_RAW_MAGIC) + 32], cached[len(_RAW_MAGIC) + 32 :]
            if cached.startswith(_RAW_MAGIC) and hashlib.sha256(data).digest() == digest:
                return data, False
        data = self._download(url)
        _write_atomically(raw_path, _RAW_MAGIC + hashlib.sha256(data).digest() + data)
        return data, True

    def _download(self, url: str) -> bytes:
        """GET with retries and backoff on connection errors, timeouts, 429 and 5xx, within the photo's deadline;
        other statuses and errors fail at once."""
        problem = url_problem(url)
        if problem:
            raise PhotoError(problem)
        download = _Download(time.monotonic() + self.settings.photo_deadline)
        _current.download = download
        with self._downloads_lock:
            self._downloads.add(download)
        try:
            return self._download_within(url, download)
        finally:
            _current.download = None
            with self._downloads_lock:
                self._downloads.discard(download)

    def _download_within(self, url: str, download: _Download) -> bytes:
        retries = max(0, self.settings.download_retries)
        for attempt in range(retries + 1):
            try:
                timeout = min(self.settings.download_timeout, max(download.remaining(), 0.01))
                with self.session.get(url, timeout=timeout, stream=True) as response:
                    if response.status_code == 200:
                        return self._read_capped(response, download)
                    reason, transient = f"HTTP {response.status_code}", response.status_code in RETRY_STATUSES
                    delay = self._retry_delay(attempt, response.headers.get("Retry-After"))
            except PhotoError:
                raise
            except Exception as error:  # requests, urllib3 and http.client errors on hostile servers
                self._raise_if_stopped(download, error)
                reason, transient = network_problem(error)
                if transient:
                    reason = f"network error after {attempt + 1} tries ({reason})"
                delay = self._retry_delay(attempt, None)
            if not transient or attempt == retries:
                raise PhotoError(reason)
            if delay >= download.remaining():
                raise PhotoError(f"{reason}; no time left to retry within the deadline of {self._deadline_text()}")
            if self._cancelled.wait(delay):
                raise PhotoError("cancelled")

    def _raise_if_stopped(self, download: _Download, error: Exception) -> None:
        if self._cancelled.is_set():
            raise PhotoError("cancelled") from error
        if download.stopped or download.remaining() <= 0:
            raise PhotoError(f"over the deadline of {self._deadline_text()}") from error

    def _deadline_text(self) -> str:
        return f"{self.settings.photo_deadline:g} s"

    def _retry_delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            seconds = _retry_after_seconds(retry_after)
            if seconds is not None:
                return min(seconds, MAX_RETRY_AFTER)
        return self.settings.download_backoff * 2**attempt * (1 + random.random() / 2)

    def _read_capped(self, response: requests.Response, download: _Download) -> bytes:
        cap = self.settings.max_photo_bytes
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise PhotoError(f"too large ({int(declared)} bytes > cap of {cap})")
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise PhotoError(f"too large (over the cap of {cap} bytes)")
            self._check_deadline(download)
            chunks.append(chunk)
        self._check_deadline(download)  # a response cut by the watchdog can look complete
        return b"".join(chunks)

    def _check_deadline(self, download: _Download) -> None:
        if download.stopped or download.remaining() <= 0:
            raise PhotoError(f"over the deadline of {self._deadline_text()}")


def _retry_after_seconds(value: str) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), None if it is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None
