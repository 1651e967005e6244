"""Fetch listing photos into an on-disk cache and store each one decoded once, upright and downscaled.

`PhotoStore.prepare(locations)` returns, for every photo location, either the path of its stored
JPEG (EXIF-rotated, RGB, short side at most `short_side` px) or the reason it failed. Downloads go
through one `requests.Session` with several at once, timeouts, retries with backoff on 429/5xx and
a size cap. Both the raw download and the stored photo are cached under a key of the URL and
written atomically, so a build that was interrupted fetches only what is missing when run again.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from PIL import Image, ImageOps, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from tqdm.auto import tqdm

from .listing import is_url

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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
    max_workers: int = 8
    timeout: float = 20.0
    retries: int = 3
    backoff: float = 0.5
    max_bytes: int = 20 * 1024 * 1024
    user_agent: str = "zillow-vit-dataset-builder"


def downscale(image: Image.Image, short_side: int) -> Image.Image:
    """Upright RGB copy whose short side is at most `short_side` (never upscaled)."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    scale = short_side / min(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def decode_downscaled(data: bytes, short_side: int) -> Image.Image:
    """Decode with JPEG draft mode (a reduced-size decode) when the photo is much larger than needed."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.format == "JPEG":
            scale = short_side / min(image.size)
            image.draft("RGB", (int(image.width * scale) + 1, int(image.height * scale) + 1))
        image.load()
        return downscale(image, short_side)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoError(f"undecodable image ({type(error).__name__}: {error})") from error


def _write_atomically(path: str, data: bytes) -> None:
    tmp_path = f"{path}.{os.getpid()}.tmp"
    with open(tmp_path, "wb") as handle:
        handle.write(data)
    os.replace(tmp_path, path)


class PhotoStore:
    """Cache of raw downloads (`raw/`) and of stored photos (`short<N>/`), keyed by location."""

    def __init__(self, cache_dir: str, short_side: int = 256, settings: FetchSettings | None = None):
        self.short_side = short_side
        self.settings = settings or FetchSettings()
        self.raw_dir = os.path.join(cache_dir, "raw")
        self.stored_dir = os.path.join(cache_dir, f"short{short_side}")
        os.makedirs(self.raw_dir, exist_ok=True)
        os.makedirs(self.stored_dir, exist_ok=True)
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.settings.max_workers)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = self.settings.user_agent

    @staticmethod
    def key(location: str) -> str:
        return hashlib.sha256(location.encode("utf-8")).hexdigest()

    def prepare(self, locations: list[str], description: str = "Fetching photos") -> dict[str, PhotoResult]:
        """Fetch (if needed), decode and store every distinct location, several at once, with a progress bar."""
        unique = list(dict.fromkeys(locations))
        results = {}
        with ThreadPoolExecutor(self.settings.max_workers) as pool:
            for result in tqdm(pool.map(self._prepare_one, unique), total=len(unique), desc=description, unit="photo"):
                results[result.location] = result
        return results

    def _prepare_one(self, location: str) -> PhotoResult:
        stored_path = os.path.join(self.stored_dir, self.key(location) + ".jpg")
        if os.path.exists(stored_path):
            return PhotoResult(location, path=stored_path)
        result = PhotoResult(location)
        try:
            data, result.downloaded = self._raw_bytes(location)
            _write_atomically(stored_path, encode_jpeg(decode_downscaled(data, self.short_side)))
            result.path = stored_path
        except PhotoError as error:
            result.error = str(error)
        return result

    def _raw_bytes(self, location: str) -> tuple[bytes, bool]:
        """The photo's bytes and whether they came over the network now."""
        if not is_url(location):
            try:
                with open(location, "rb") as handle:
                    return handle.read(), False
            except OSError as error:
                raise PhotoError(f"cannot read file ({error.strerror})") from error
        raw_path = os.path.join(self.raw_dir, self.key(location))
        if os.path.exists(raw_path):
            with open(raw_path, "rb") as handle:
                return handle.read(), False
        data = self._download(location)
        _write_atomically(raw_path, data)
        return data, True

    def _download(self, url: str) -> bytes:
        """GET with retries and backoff on connection errors, timeouts, 429 and 5xx; other statuses fail at once."""
        retries = self.settings.retries
        for attempt in range(retries + 1):
            try:
                with self.session.get(url, timeout=self.settings.timeout, stream=True) as response:
                    if response.status_code == 200:
                        return self._read_capped(response)
                    if response.status_code not in RETRY_STATUSES or attempt == retries:
                        raise PhotoError(f"HTTP {response.status_code}")
                    delay = self._retry_delay(attempt, response.headers.get("Retry-After"))
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt == retries:
                    raise PhotoError(f"network error after {attempt + 1} tries ({type(error).__name__})") from error
                delay = self._retry_delay(attempt, None)
            time.sleep(delay)

    def _retry_delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None and retry_after.isdigit():
            return min(float(retry_after), 60.0)
        return self.settings.backoff * 2**attempt * (1 + random.random() / 2)

    def _read_capped(self, response: requests.Response) -> bytes:
        cap = self.settings.max_bytes
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise PhotoError(f"too large ({int(declared)} bytes > cap of {cap})")
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise PhotoError(f"too large (over the cap of {cap} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)
