"""Reading user-supplied files (declarations, bundles, certificates) with limits and one-line errors.

Every loader here raises `InputError` whose message names the file, the field and what was expected, so the
CLI can print one line and exit 2 instead of a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64

M = TypeVar("M", bound=BaseModel)
_JSON_START = re.compile(rb"[ \t\r\n]*[\[{]")  # JSON's own whitespace, then an array or object


class InputError(ValueError):
    """Unusable input; the message is one line for the user."""


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases: they allow exponential 'billion laughs' expansion."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"YAML aliases are not accepted (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def nesting_depth(value: Any, limit: int) -> int:
    """How many lists/objects are open at the deepest point (`[]` and `[1]` are 1, `[[1]]` is 2), walked without
    recursion so hostile input cannot exhaust the stack; stops early once past `limit`."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


JsonFailure = Literal["too_large", "not_utf8", "syntax", "number_too_long", "too_deep"]
UTF8_BOM = b"\xef\xbb\xbf"


class JsonInputError(InputError):
    """JSON bytes that `load_json_bytes` refused. `kind` says why; the other attributes carry the facts a caller
    needs to word its own message (unset ones are None). The default message is one line without a file name."""

    def __init__(self, kind: JsonFailure, message: str, *, limit: int | None = None, size: int | None = None,
                 byte: int | None = None, line: int | None = None, column: int | None = None,
                 detail: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.limit = limit  # bytes for too_large, levels for too_deep
        self.size = size  # too_large: the input's length in bytes
        self.byte = byte  # not_utf8: offset of the first bad byte in the input (a skipped BOM counts)
        self.line, self.column = line, column  # syntax: where the JSON decoder stopped (1-based)
        self.detail = detail  # syntax / number_too_long: the decoder's own words


def load_json_bytes(data: bytes, *, max_bytes: int | None, max_depth: int, allow_bom: bool = False) -> Any:
    """Parse untrusted JSON bytes: at most `max_bytes` (None: the caller's reader already limited them), UTF-8, at
    most `max_depth` lists/objects deep, else `JsonInputError`. A leading UTF-8 BOM is skipped only with
    `allow_bom`. NaN, Infinity and -Infinity are accepted as floats (Python's json does, and so did every caller
    before this parser was shared); integers longer than Python's digit limit are refused. Never raises
    RecursionError: a nesting bomb deeper than the interpreter's stack is reported as too_deep."""
    if max_bytes is not None and len(data) > max_bytes:
        raise JsonInputError("too_large", f"JSON is {len(data)} bytes; the limit is {max_bytes}",
                             limit=max_bytes, size=len(data))
    skipped = len(UTF8_BOM) if allow_bom and data.startswith(UTF8_BOM) else 0
    try:
        text = str(memoryview(data)[skipped:], "utf-8")
    except UnicodeDecodeError as exc:
        raise JsonInputError("not_utf8", f"not UTF-8 at byte {exc.start + skipped}", byte=exc.start + skipped) from None
    too_deep = JsonInputError("too_deep", f"JSON nested deeper than {max_depth} levels", limit=max_depth)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError("syntax", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                             line=exc.lineno, column=exc.colno, detail=exc.msg) from None
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:  # an integer past sys.get_int_max_str_digits(); the decoder gives no position
        detail = str(exc).split(";")[0]
        raise JsonInputError("number_too_long", f"invalid JSON: {detail}", detail=detail) from None
    if nesting_depth(value, max_depth) > max_depth:
        raise too_deep
    return value


def read_limited(path: Path, max_bytes: int) -> bytes:
    """A whole file, refusing it before reading when it is larger than `max_bytes` (and if it grows past that while
    being read). Errors say what was wrong without naming the file; callers add where."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("file not found") from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise InputError(f"file is {size} bytes; the limit is {max_bytes}")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"file grew past the limit of {max_bytes} bytes while it was read")
    return data


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        return read_limited(path, max_bytes)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def read_structured(path: Path, max_bytes: int = MAX_BYTES) -> Any:
    """Parse a JSON or YAML file (by content: JSON first) with size and depth limits."""
    raw = read_bytes(path, max_bytes)
    if _JSON_START.match(raw):
        try:
            return load_json_bytes(raw, max_bytes=None, max_depth=MAX_DEPTH)
        except JsonInputError as exc:
            if exc.kind == "not_utf8":
                raise InputError(f"{path}: not UTF-8 text (byte {exc.byte})") from None
            if exc.kind == "too_deep":
                raise InputError(f"{path}: nesting deeper than {MAX_DEPTH} levels") from None
            raise InputError(f"{path}: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - SafeLoader subclass
    except RecursionError:
        raise InputError(f"{path}: nesting deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}: invalid YAML{where}: {problem}") from None
    if nesting_depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise InputError(f"{path}: nesting deeper than {MAX_DEPTH} levels")
    return data


def describe_validation_error(path: Path | str, exc: ValidationError) -> str:
    """First pydantic error as `FILE: field a.b: what was expected (got ...)`."""
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err.get("loc", ())) or "(top level)"
    got = err.get("input")
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{path}: field {loc}: {err['msg']} (got {shown}){more}"


def load_model(path: Path, model: type[M], max_bytes: int = MAX_BYTES) -> M:
    data = read_structured(path, max_bytes)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(path, exc)) from None


def load_bundle(path: Path):
    """Load an evidence bundle (bundle.json)."""
    from iotmark.model import Bundle

    return load_model(path, Bundle, max_bytes=256 * 1024 * 1024)
