"""Reading untrusted input (MUD JSON, captures, conn.log) within limits, and the one error type for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iotmark.inputs import InputError, nesting_depth
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
    """Parse JSON bytes, refusing invalid UTF-8, syntax errors and nesting past `max_depth`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"not UTF-8 at byte {exc.start}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise BadInput(f"JSON nested deeper than {max_depth} levels") from None
    if nesting_depth(value, max_depth) > max_depth:
        raise BadInput(f"JSON nested deeper than {max_depth} levels")
    return value


def load_json_file(path: Path, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse a JSON file within size and depth limits."""
    return parse_json(read_limited(path, max_bytes), max_depth=max_depth)
