"""Image processor of every house model: the photos of one house, or of a batch of houses, → `pixel_values` and
`photo_mask`, preprocessed exactly as the model was evaluated in training (the training script's evaluation
transform *is* `HousePhotoProcessor.photo_transform()`). Ships with the model as Hub custom code."""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from functools import partial

import numpy as np
import torch
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature

try:  # what reading photos takes; the model's files ship this one (through the pipeline) and run without it
    import httpx
    from PIL import Image, ImageOps, UnidentifiedImageError
    from torchvision.transforms import v2
except ImportError as error:
    PHOTO_READING_MISSING = error
else:
    PHOTO_READING_MISSING = None

from .house_inputs import pad_houses

URL_TIMEOUT = 30.0  # seconds a photo URL may take to answer
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]{64,}")  # bare base64 image data (the smallest image is longer); else a path


class HousePhotoProcessor(BaseImageProcessor):
    r"""
    Each photo is turned upright (EXIF orientation) and RGB, resized so that its short side is `shortest_edge`
    (aspect ratio kept), centre-cropped to `size`, scaled to [0, 1] and normalised with `image_mean` / `image_std`.

    Args:
        size (`dict`, *optional*, defaults to `{"height": 224, "width": 224}`): the model's input size.
        shortest_edge (`int`, *optional*): short side after the resize; defaults to the short side of `size`
            (a centre crop of the whole short side). A backbone evaluated with a crop fraction sets it larger.
        image_mean (`list[float]`, *optional*, defaults to `[0.5, 0.5, 0.5]`): per-channel mean.
        image_std (`list[float]`, *optional*, defaults to `[0.5, 0.5, 0.5]`): per-channel standard deviation.
        max_short_side (`int`, *optional*): the short side the training photos were stored with at most (the
            dataset build's `image_short_side`); a larger photo is first reduced to it as the build reduced them, so
            a full-size photo is read at the resolution the model was trained on. None: photos are read as given.

    Call it with one house (a list of photos), a batch of houses (a list of such lists) or one photo; a photo is a PIL
    image, a local path or an http(s) URL. Pass `max_photos=model.config.max_photos` to skip preprocessing photos the
    model would not read (the model reads the first `max_photos` either way).
    """

    model_input_names = ["pixel_values", "photo_mask"]

    def __init__(
        self,
        size: dict | None = None,
        shortest_edge: int | None = None,
        image_mean: list[float] | None = None,
        image_std: list[float] | None = None,
        max_short_side: int | None = None,
        **kwargs,
    ):
        if PHOTO_READING_MISSING:
            raise ImportError(
                f"{type(self).__name__} reads photos with Pillow, torchvision and httpx: {PHOTO_READING_MISSING}"
            )
        super().__init__(**kwargs)
        self.size = dict(size or {"height": 224, "width": 224})
        # never below the input's short side (a `size` given alone would pad the crop with black)
        self.shortest_edge = max(shortest_edge or 0, min(self.size["height"], self.size["width"]))
        self.image_mean = list(image_mean or [0.5, 0.5, 0.5])
        self.image_std = list(image_std or [0.5, 0.5, 0.5])
        self.max_short_side = max_short_side

    @property
    def crop_size(self) -> tuple[int, int]:
        return self.size["height"], self.size["width"]

    def photo_transform(self) -> v2.Compose:
        """One upright RGB PIL photo → normalised `(3, height, width)` float tensor."""
        stored = [partial(reduce_short_side, short_side=self.max_short_side)] if self.max_short_side else []
        return v2.Compose(
            [
                *stored,
                v2.ToImage(),
                v2.Resize(self.shortest_edge, antialias=True),
                v2.CenterCrop(self.crop_size),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(mean=self.image_mean, std=self.image_std),
            ]
        )

    def preprocess(self, images, max_photos: int | None = None, return_tensors="pt", **options) -> BatchFeature:
        """`pixel_values` `(houses, photos, 3, height, width)`, zero-padded, and `photo_mask` `(houses, photos)`. A
        photo that cannot be read is an error naming it (`houses[h][p]`, and its location)."""
        if options:
            raise TypeError(
                f"{type(self).__name__} takes no per-call {sorted(options)}: the model reads photos as it was trained "
                "(its processor's saved settings)"
            )
        houses = as_houses(images)
        empty = [index for index, photos in enumerate(houses) if not photos]
        if empty:
            raise ValueError(f"Every house needs at least one photo; houses {empty} have none.")
        transform = self.photo_transform()
        tensors = [
            torch.stack(
                [transform(read_upright_rgb(photo, (house, index))) for index, photo in enumerate(photos[:max_photos])]
            )
            for house, photos in enumerate(houses)
        ]
        pixel_values, photo_mask = pad_houses(tensors)
        return BatchFeature({"pixel_values": pixel_values, "photo_mask": photo_mask}, tensor_type=return_tensors)


def as_houses(images) -> list[list]:
    """One photo → one house of one photo; a flat list → one house; a list of lists → a batch of houses."""
    if not isinstance(images, (list, tuple)):
        return [[images]]
    if images and all(isinstance(item, (list, tuple)) for item in images):
        return [list(photos) for photos in images]
    return [list(images)]


def reduce_short_side(photo: Image.Image, short_side: int) -> Image.Image:
    """The photo with its short side at most `short_side`, reduced as the dataset builder stores photos (bicubic,
    `reducing_gap` 2); never enlarged."""
    scale = short_side / min(photo.size)
    if scale >= 1:
        return photo
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    return photo.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def read_photo(photo, timeout: float | None = URL_TIMEOUT) -> Image.Image:
    """A photo as the processor and the pipeline take it → a PIL image, its pixels read: a PIL image; a local path,
    http(s) URL or base64 data (`open_photo`); an array, `(height, width[, channels])` or a `(channels, height,
    width)` tensor (as `torchvision`'s `to_pil_image` reads them). An error names the photo."""
    if isinstance(photo, (np.ndarray, torch.Tensor)):
        return v2.functional.to_pil_image(photo)
    if not isinstance(photo, (str, Image.Image)):
        raise TypeError(
            f"A photo is a PIL image, a path, an http(s) URL, base64 data or an array; got {type(photo).__name__}"
        )
    image = open_photo(photo, timeout) if isinstance(photo, str) else photo
    try:
        image.load()
    except OSError as error:  # truncated or corrupt pixel data
        raise OSError(f"{_shown(photo)}: {error}") from error
    return image


def read_upright_rgb(photo, position: tuple[int, int]) -> Image.Image:
    """`upright_rgb(photo)`; an error names the photo's place in the batch, `houses[h][p]`."""
    try:
        return upright_rgb(photo)
    except (OSError, ValueError, TypeError, Image.DecompressionBombError) as error:
        raise type(error)(f"houses[{position[0]}][{position[1]}]: {error}") from error


def _shown(photo) -> str:
    return photo[:200] if isinstance(photo, str) else f"a {photo.width} x {photo.height} {photo.mode} image"


def open_photo(location: str, timeout: float | None = URL_TIMEOUT) -> Image.Image:
    """A local path, http(s) URL (waited for `timeout` seconds; None: no limit; `//host/...` read as https) or base64
    image data (a `data:` URI, or bare, line breaks allowed) → the PIL image as stored, alpha kept
    (`transformers.image_utils.load_image` converts to RGB: transparent pixels black). A missing file is a
    `FileNotFoundError`, bytes that are no image an `UnidentifiedImageError`, each naming the location."""
    location = location.strip()
    if os.path.isfile(location):
        return _image(location, location)
    if location.startswith("//"):
        location = f"https:{location}"
    if location.lower().startswith(("http://", "https://")):
        try:
            response = httpx.get(location, timeout=timeout, follow_redirects=True)
        except httpx.TimeoutException as error:
            raise TimeoutError(f"{location}: no answer within {timeout} s") from error
        except httpx.HTTPError as error:  # refused, unresolved, dropped
            raise OSError(f"{location}: {error}") from error
        if response.is_error:
            raise OSError(f"{location}: HTTP {response.status_code}")
        return _image(response.content, location)
    text = location.split(",", 1)[1] if location.startswith("data:") and "," in location else location
    if not (location.startswith("data:") or _BASE64.fullmatch(text)):
        raise FileNotFoundError(f"no such file, and not an http(s) URL or base64 image data: {location[:200]}")
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as error:
        raise ValueError(f"malformed base64 image data: {location[:80]}...") from error
    return _image(data, f"base64 data {location[:40]}...")


def _image(source: bytes | str, shown: str) -> Image.Image:
    """`source` (image bytes, or a file's path) opened; an error names `shown`."""
    try:
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except UnidentifiedImageError as error:
        raise UnidentifiedImageError(f"{shown}: not an image file") from error
    except Image.DecompressionBombError as error:
        raise Image.DecompressionBombError(f"{shown}: {error}") from error
    except OSError as error:  # a header cut short
        raise OSError(f"{shown}: {error}") from error


def upright_rgb(photo) -> Image.Image:
    """A photo (`read_photo`) → the photo upright (EXIF orientation applied; as it is when the EXIF
    block cannot be read) in RGB, exactly as the dataset builder stores photos (`dataset_builder.photos.to_rgb`):
    16- and 32-bit grey levels scaled to 8 bits, transparent pixels on white."""
    photo = read_photo(photo)
    try:
        image = ImageOps.exif_transpose(photo)
    except Exception:  # a corrupt EXIF block loses only the orientation, not the photo
        image = photo
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


__all__ = ["HousePhotoProcessor"]
