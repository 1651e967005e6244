"""Checks the scripts run on their arguments before any work: wrong input fails in one line with exit status 2."""

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import fields

from dataset_builder import DataError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
LISTING_SUFFIXES = (".json", ".jsonl", ".ndjson")
PROJECT_FOLDERS = ("runs", "data", "checkpoints", "reports")  # where the scripts write: no Hub user of these names


def usage_error(message: str):
    """Print `script: error: message` and exit with status 2, as argparse does for its own errors."""
    print(f"{os.path.basename(sys.argv[0]) or 'zillow-vit'}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def run_script(main: Callable) -> None:
    """Run a script's `main` from the command line: input data it cannot use (`DataError`: a malformed listing, too
    few usable houses, a house without usable photos) ends in one line with exit status 2, not a traceback."""
    try:
        main()
    except DataError as error:
        usage_error(str(error))


def parse_arguments(parser, argv: list[str] | None = None) -> tuple:
    """The argument dataclasses `parser` (an `HfArgumentParser`) fills from `argv` (default: the command line); an
    argument none of them takes is a usage error, as argparse's own are."""
    *groups, unknown = parser.parse_args_into_dataclasses(
        args=sys.argv[1:] if argv is None else argv, return_remaining_strings=True
    )
    if unknown:
        usage_error(f"unrecognized arguments: {' '.join(unknown)}")
    return tuple(groups)


def is_remote(location: str) -> bool:
    """An http(s) URL, or a Hub repo id (`user/name`) that is not a local path or listing file, nor a path in one of
    the project's own folders (`runs/vit-scratch`, `data/houses`, `checkpoints/...`)."""
    if location.startswith(("http://", "https://")):
        return True
    local = os.path.exists(location) or location.split("/", 1)[0] in PROJECT_FOLDERS
    return bool(HUB_ID.match(location)) and not location.endswith(LISTING_SUFFIXES) and not local


def check_location(flag: str, location: str | None) -> None:
    """A local file or folder given to `flag` must exist (URLs and Hub ids are checked when they are read)."""
    if location and not is_remote(location) and not os.path.exists(location):
        usage_error(f"{flag} {location}: no such file or folder")


def config_overrides(text: str | None, config_class) -> dict:
    """`--config_overrides`: a JSON object whose keys are fields of `config_class`."""
    if not text:
        return {}
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as error:
        usage_error(f"--config_overrides is not valid JSON ({error.msg} at char {error.pos}): {text}")
    if not isinstance(overrides, dict):
        usage_error(f"--config_overrides must be a JSON object of config fields, got {text}")
    known = {field.name for field in fields(config_class)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        usage_error(f"--config_overrides: {config_class.__name__} has no field {', '.join(unknown)}")
    return overrides
