"""What one pass over an extracted root collects for the analysers, and how they point at evidence.

The analysers never walk the root themselves: analysis.py reads each file once and hands them the
text files, the list of paths and links, so a router image is read once rather than once per concern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

EXCERPT_MAX = 200


@dataclass
class Corpus:
    """The small text files of a root (path relative to the root → text) and what was not read."""

    image: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)  # every regular file, relative
    links: dict[str, str] = field(default_factory=dict)  # symlink path → link text
    skipped: list[str] = field(default_factory=list)  # files over the size limits, not examined

    def lines(self, rel: str) -> Iterator[tuple[int, str]]:
        """(1-based line number, line) of a text file; nothing if it was not read as text."""
        for number, line in enumerate(self.texts.get(rel, "").splitlines(), start=1):
            yield number, line

    def under(self, *prefixes: str) -> Iterator[str]:
        """Text files whose path starts with one of `prefixes` (relative, e.g. "etc/init.d/")."""
        for rel in self.texts:
            if rel.startswith(prefixes):
                yield rel


def evidence(corpus: Corpus, rel: str, *, line: int | None = None, offset: int | None = None,
             excerpt: str | None = None, **extra: Any) -> dict[str, Any]:
    """Evidence for a finding: the path as on the device ("/etc/shadow"), where in it, a masked excerpt."""
    ev: dict[str, Any] = {"path": "/" + rel.lstrip("/"), "source": corpus.image}
    if line is not None:
        ev["line"] = line
    if offset is not None:
        ev["offset"] = offset
    if excerpt is not None:
        ev["excerpt"] = excerpt.strip()[:EXCERPT_MAX]
    ev.update(extra)
    return ev


def mask(secret: str) -> str:
    """Show a secret's shape, never its value: "xc3511" → "x***1"; short ones become "***"."""
    if len(secret) <= 3:
        return "***"
    return f"{secret[0]}***{secret[-1]}"


def mask_hash(value: str) -> str:
    """A password hash reduced to its scheme prefix: "$1$abcd$xyz" → "$1$…"; DES → "<DES>…"."""
    if value.startswith("$"):
        scheme = value.split("$")[1] if value.count("$") >= 2 else ""
        return f"${scheme}$…"
    return f"{value[:1]}…" if value else ""
