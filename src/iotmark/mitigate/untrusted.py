"""Reading untrusted input (MUD JSON, captures, conn.log) within limits, and the one error type for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 48


class BadInput(ValueError):
    """Input that cannot be used: the message is one line saying what was wrong."""


def read_limited(path: Path, max_bytes: int) -> bytes:
    """Read a whole file, refusing files larger than `max_bytes` before reading them."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise BadInput(f"file is {size} bytes, over the {max_bytes}-byte limit")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise BadInput(f"file grew past the {max_bytes}-byte limit while reading")
    return data


def _depth(value: Any) -> int:
    """Nesting depth, walked iteratively so hostile input cannot exhaust the stack here."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item)
    return deepest


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
    if _depth(value) > max_depth:
        raise BadInput(f"JSON nested deeper than {max_depth} levels")
    return value


def load_json_file(path: Path, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and parse a JSON file within size and depth limits."""
    return parse_json(read_limited(path, max_bytes), max_depth=max_depth)
