"""A read-only view of an extracted root filesystem that never leaves the root.

Extracted images are hostile input: symlinks may point at host files, climb out with "..", loop, or
name device nodes; files may be FIFOs that block a reader or sparse files of many gigabytes. Every
path handed out here is relative to the root, every link is resolved by hand inside the root (an
absolute target is relative to the root, as it is on the device), and every open walks the
directories one by one with O_NOFOLLOW so a link swapped in after the check cannot redirect it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

MAX_LINK_HOPS = 40  # the kernel's own limit for nested symlinks
MAX_DEPTH = 64
MAX_FILES = 500_000

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class RootView:
    """Safe access to the regular files of one extracted root filesystem."""

    def __init__(self, root: Path, *, max_file_bytes: int = 64 * 1024**2) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{root}: not a directory")
        self.max_file_bytes = max_file_bytes

    # ------------------------------------------------------------------ walking

    def _walk(self) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """Every entry below the root, depth first in name order, never descending through links."""
        stack: list[tuple[str, int]] = [("", 0)]
        seen = 0
        while stack:
            rel_dir, depth = stack.pop()
            try:
                with os.scandir(self.root / rel_dir if rel_dir else self.root) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                log.debug("cannot list %s: %s", rel_dir or "/", exc)
                continue
            subdirs = []
            for entry in entries:
                seen += 1
                if seen > MAX_FILES:
                    log.warning("more than %d entries in the root; the rest is not examined", MAX_FILES)
                    return
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                yield rel, entry
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                if is_dir and depth < MAX_DEPTH:
                    subdirs.append((rel, depth + 1))
            stack.extend(reversed(subdirs))

    def files(self) -> Iterator[str]:
        """Relative POSIX paths of regular files only (no links, devices, FIFOs or sockets)."""
        for rel, entry in self._walk():
            try:
                if entry.is_file(follow_symlinks=False):
                    yield rel
            except OSError:
                continue

    def symlinks(self) -> Iterator[tuple[str, str]]:
        """(path, link text) of every symlink, for reporting; the targets are not followed."""
        for rel, entry in self._walk():
            if entry.is_symlink():
                try:
                    yield rel, os.readlink(self.root / rel)
                except OSError:
                    continue

    # ------------------------------------------------------------------ resolving

    def resolve(self, rel: str) -> str | None:
        """The in-root regular file `rel` names after following in-root links; None if missing,
        not a regular file, looping, or climbing above the root."""
        pending = [p for p in rel.split("/") if p not in ("", ".")]
        pending.reverse()
        parts: list[str] = []
        hops = 0
        while pending:
            name = pending.pop()
            if name == "..":
                if not parts:
                    return None  # a target that climbs above the root points at the host
                parts.pop()
                continue
            candidate = parts + [name]
            try:
                st = os.lstat(self.root.joinpath(*candidate))
            except (OSError, ValueError):
                return None
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    return None
                try:
                    target = os.readlink(self.root.joinpath(*candidate))
                except OSError:
                    return None
                if target.startswith("/"):
                    parts = []
                pending.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            if pending and not stat.S_ISDIR(st.st_mode):
                return None
            parts = candidate
        if not parts:
            return None
        try:
            st = os.lstat(self.root.joinpath(*parts))
        except OSError:
            return None
        return "/".join(parts) if stat.S_ISREG(st.st_mode) else None

    def size(self, rel: str) -> int | None:
        """Apparent size of the regular file `rel` (links followed inside the root), None if absent."""
        resolved = self.resolve(rel)
        if resolved is None:
            return None
        try:
            return os.lstat(self.root / resolved).st_size
        except OSError:
            return None

    # ------------------------------------------------------------------ reading

    def _open(self, resolved: str) -> int:
        """Open an already resolved path, one directory at a time, refusing links at every step."""
        parts = resolved.split("/")
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for name in parts[:-1]:
                nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nxt
            file_fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        if not stat.S_ISREG(os.fstat(file_fd).st_mode):
            os.close(file_fd)
            raise OSError(f"{resolved}: not a regular file")
        return file_fd

    def read_bytes(self, rel: str, limit: int | None = None) -> bytes:
        """Up to `limit` (and at most max_file_bytes) bytes of a regular file inside the root.

        Raises FileNotFoundError when `rel` does not name one.
        """
        resolved = self.resolve(rel)
        if resolved is None:
            raise FileNotFoundError(f"{rel}: no regular file of that name inside the root")
        cap = self.max_file_bytes if limit is None else min(limit, self.max_file_bytes)
        fd = self._open(resolved)
        try:
            chunks: list[bytes] = []
            remaining = cap
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 1024 * 1024))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def read_text(self, rel: str, limit: int | None = None) -> str:
        """Like read_bytes, decoded as UTF-8 with undecodable bytes replaced."""
        return self.read_bytes(rel, limit).decode("utf-8", errors="replace")
