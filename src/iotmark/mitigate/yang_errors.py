"""Collect every YANG error of a document, although yangson stops at the first one.

Loop: validate a working copy; record the first error with its path in the *original* document; remove the
offending node from the working copy; validate again. Removing a node can make its parent miss a mandatory
child or a list entry miss its key; such follow-on errors are not reported, the parent is removed in turn.
Every round removes a node, so the loop ends; it also stops at a repeated error, an error it cannot locate, or
`max_errors`.
"""

from __future__ import annotations

import ast
import copy
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

Segments = tuple[str, ...]


@dataclass
class FirstError:
    """One yangson error: where (working-copy segments), the report text, and the member to drop, if any."""

    segments: Segments
    message: str
    tag: str = ""
    detail: str = ""
    member: Optional[str] = None  # for member-not-allowed: the member of `segments` that is not allowed


def parse_pointer(pointer: str) -> Segments:
    """JSON pointer text → segments (RFC 6901 escapes undone)."""
    if pointer in ("", "/"):
        return ()
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer.lstrip("/").split("/"))


def render_pointer(segments: Segments) -> str:
    return "/" + "/".join(s.replace("~", "~0").replace("/", "~1") for s in segments) if segments else "/"


def _key_in(obj: dict[str, Any], segment: str) -> Optional[str]:
    """The key of `obj` that a path segment names (members may be written with or without their module)."""
    if segment in obj:
        return segment
    local = segment.split(":")[-1]
    matches = [k for k in obj if k.split(":")[-1] == local]
    return matches[0] if len(matches) == 1 else None


def _entry_with_key(entries: list[Any], key: str) -> Optional[int]:
    """Index of the list entry whose key leaf (any scalar member) has the value `key`."""
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and any(str(v) == key for v in entry.values() if not isinstance(v, (dict, list))):
            return index
    return None


@dataclass
class WorkingCopy:
    """A deep copy of the document being stripped of bad nodes, mapping its list indices back to the original."""

    data: Any
    removed_entries: dict[Segments, list[int]] = field(default_factory=dict)

    def locate(self, segments: Segments) -> Optional[tuple[Any, Any, Segments]]:
        """(parent container, key or index in it, the same path in the original document), or None."""
        node, parent, key = self.data, None, None
        original: list[str] = []
        for segment in self._expand(segments):
            parent = node
            if isinstance(node, list) and segment.startswith("="):
                key = _entry_with_key(node, segment[1:])
                if key is None:
                    return None
                original.append(str(self._original_index(tuple(original), key)))
            elif isinstance(node, dict):
                key = _key_in(node, segment)
                if key is None:
                    return None
                original.append(key)
            elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                key = int(segment)
                original.append(str(self._original_index(tuple(original), key)))
            else:
                return None
            node = node[key]
        if parent is None:
            return None
        return parent, key, tuple(original)

    @staticmethod
    def _expand(segments: Segments) -> Segments:
        """yangson names list entries of raw data `list=key`; split that into the list and `=key`."""
        out: list[str] = []
        for segment in segments:
            name, eq, key = segment.partition("=")
            out.extend((name, "=" + key) if eq else (segment,))
        return tuple(out)

    def _original_index(self, list_path: Segments, index: int) -> int:
        gone = sorted(self.removed_entries.get(list_path, []))
        for removed in gone:
            if removed <= index:
                index += 1
        return index

    def remove(self, segments: Segments) -> Optional[Segments]:
        """Remove the node at `segments`; its original path, or None when it is not there."""
        found = self.locate(segments)
        if found is None:
            return None
        parent, key, original = found
        if isinstance(parent, list):
            self.removed_entries.setdefault(original[:-1], []).append(int(original[-1]))
        del parent[key]
        return original


def _duplicate_entry(work: WorkingCopy, error: FirstError) -> FirstError:
    """A non-unique-key error names the list; point it at the entry repeating an earlier key instead."""
    found = work.locate(error.segments) if error.segments else None
    try:
        key = ast.literal_eval(error.detail)
    except (ValueError, SyntaxError):
        return error
    wanted = {str(k) for k in key} if isinstance(key, tuple) else {str(key)}
    entries = found[0][found[1]] if found else None
    if not isinstance(entries, list):
        return error
    matching = [i for i, entry in enumerate(entries) if isinstance(entry, dict)
                and wanted <= {str(v) for v in entry.values() if not isinstance(v, (dict, list))}]
    if len(matching) < 2:
        return error
    return FirstError(error.segments + (str(matching[1]),), error.message, error.tag, error.detail)


def _is_follow_on(error: FirstError, original: Segments, removed: list[Segments]) -> bool:
    """True when the error only says a node lost a child (or key) that this loop removed itself."""
    if error.tag not in ("missing-data", "list-key-missing"):
        return False
    for gone in removed:
        if gone[:-1] == original and gone[-1].split(":")[-1] in error.detail:
            return True
    return False


class FirstErrorFinder(Protocol):
    def __call__(self, data: Any, *, deferred: Optional[list[FirstError]] = None) -> Optional[FirstError]: ...


def collect_errors(data: Any, first_error: FirstErrorFinder, max_errors: int = 50,
                   max_seconds: float = 10.0) -> list[tuple[str, str]]:
    """All (path, message) errors of `data`, each once, in the order validation meets them.

    `first_error` may also append errors that did not stop validation (missing mandatory members) to
    `deferred`; those are reported too, before the error that stopped it. When `max_errors` or `max_seconds`
    stops the listing while errors remain, a last entry at "/" says so.
    """
    deadline = time.monotonic() + max_seconds
    deferred: list[FirstError] = []
    error = first_error(data, deferred=deferred)
    if error is None and not deferred:
        return []  # valid: no working copy needed
    work = WorkingCopy(copy.deepcopy(data))
    found: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    removed: list[Segments] = []

    def report(error: FirstError) -> bool:
        """Record the error unless it is a follow-on; False when it was already reported."""
        located = work.locate(error.segments) if error.segments else None
        original = located[2] if located else error.segments
        if located is not None and _is_follow_on(error, original, removed):
            return True
        entry = (render_pointer(original + ((error.member,) if error.member else ())), error.message)
        if entry in seen:
            return False
        seen.add(entry)
        found.append(entry)
        return True

    stopped = ""
    for _ in range(max_errors * 8):
        for earlier in deferred:
            report(earlier)
        if error is not None and error.tag == "non-unique-key":
            error = _duplicate_entry(work, error)
        if error is None or not report(error):
            break  # done, or removing the node did not clear the error: stop rather than loop
        if len(found) > max_errors:
            stopped = f"{max_errors} errors"  # one more was found, so there are more than the cap
            break
        if time.monotonic() > deadline:
            stopped = f"{max_seconds:g} s"
            break
        target = error.segments + ((error.member,) if error.member else ())
        gone = work.remove(target) if target else None
        if gone is None:
            break
        removed.append(gone)
        deferred = []
        error = first_error(work.data, deferred=deferred)
    if len(found) > max_errors:
        stopped = f"{max_errors} errors"
    if stopped:
        return found[:max_errors] + [("/", f"listing stopped at {stopped}; the file may hold more errors")]
    return found
