"""Reading untrusted input (MUD JSON, captures, conn.log) within limits, and the one error type for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iotmark.inputs import InputError, JsonInputError, load_json_bytes
from iotmark.inputs import read_limited as _read_limited

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 48


class BadInput(InputError):
    """Input that cannot be used: the message is one line saying what was wrong."""


def read_limited(path: Path, max_bytes: int) -> bytes:
    """Read a whole file, refusing files larger than `max_bytes` before reading them."""
    try:
        return _read_limited(path, max_bytes)
    except InputError as exc:
        raise BadInput(str(exc)) from None


def parse_json(data: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON bytes, refusing invalid UTF-8, syntax errors and nesting past `max_depth` (a BOM is a syntax
    error). The size was limited by whoever read the bytes."""
    try:
        return load_json_bytes(data, max_bytes=None, max_depth=max_depth)
    except JsonInputError as exc:  # its own words are this module's: "not UTF-8 at byte N", "invalid JSON at ..."
        raise BadInput(str(exc)) from None


def load_json_file(path: Path, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse a JSON file within size and depth limits."""
    return parse_json(read_limited(path, max_bytes), max_depth=max_depth)
