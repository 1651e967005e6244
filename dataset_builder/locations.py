"""Where listings and photos may come from: URL schemes, local paths kept inside a folder, capped reads of
regular files only, and secrets taken out of locations before they reach a report."""

from __future__ import annotations

import os
import re
import stat
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

WEB_SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# a scheme of at most 32 characters: linear time on a megabyte of letters (an unbounded one took minutes)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s\"'<>]+")
_SECRET_PARAMETER = re.compile(
    r"token|sig|key|secret|pass|pwd|auth|credential|session|policy|code|amz|goog", re.IGNORECASE
)
REDACTED = "REDACTED"


class LocalReadError(Exception):
    """A local file that may not or cannot be read; the message is the reason."""


def url_scheme(location: str) -> str | None:
    """The scheme of a URL-like location in lower case ("http", "file", ...), None for a plain path."""
    match = _SCHEME.match(location)
    return match.group(1).lower() if match and len(match.group(1)) > 1 else None  # "C:" is a drive


def is_url(location: str) -> bool:
    return url_scheme(location) in WEB_SCHEMES


def url_problem(url: str) -> str | None:
    """Why an http(s) URL cannot be fetched as it is written, or None."""
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in url):
        return "malformed URL (whitespace or control characters)"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        return "malformed URL"
    if not parts.hostname:
        return "malformed URL (no host)"
    return None


def is_inside(path: str, folder: str) -> bool:
    """Whether `path`, symbolic links resolved, lies in `folder`."""
    real_path, real_folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([real_path, real_folder]) == real_folder


def read_regular_file(path: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; devices, FIFOs and sockets are refused without
    blocking, larger files without reading them whole."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise LocalReadError(f"cannot read file ({error.strerror})") from error
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise LocalReadError("not a regular file")
        if info.st_size > max_bytes:
            raise LocalReadError(f"too large ({info.st_size} bytes > cap of {max_bytes})")
        try:
            data = handle.read(max_bytes + 1)
        except OSError as error:
            raise LocalReadError(f"cannot read file ({error.strerror})") from error
    if len(data) > max_bytes:
        raise LocalReadError(f"too large (over the cap of {max_bytes} bytes)")
    return data


def redact_url(url: str) -> str:
    """`url` without its user name and password, and with the values of token-like query parameters hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url.split(':', 1)[0]}://{REDACTED} (malformed URL)"
    netloc = f"{REDACTED}@{parts.netloc.rsplit('@', 1)[1]}" if "@" in parts.netloc else parts.netloc
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret = [name for name, _ in pairs if _SECRET_PARAMETER.search(name)]
    if netloc == parts.netloc and not secret and not parts.fragment:
        return url
    query = urlencode([(name, REDACTED if name in secret else value) for name, value in pairs], safe="/:")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact(text: str) -> str:
    """`text` with every URL in it redacted (see `redact_url`)."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
