"""Unpack a firmware image into its parts and root filesystems, sandboxed and bounded.

``extract`` runs unblob (with iotmark's squashfs handlers) in a sandboxed worker, then makes
the output safe to read and reports every part of the image and what happened to it. A corrupt
or hostile image yields ``error``/``not_extracted``/``skipped_limit`` parts, never an exception;
only unusable input (missing, not a regular file, empty, too large) raises ``UnpackError``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox

log = logging.getLogger(__name__)

_ROOT_MARKERS = ("etc", "bin", "sbin", "usr", "lib")
_ROOT_EVIDENCE = ("etc/passwd", "etc/inittab", "etc/init.d", "sbin/init", "bin/busybox", "bin/sh", "lib/modules")
_MAX_ROOT_SEARCH_DEPTH = 12


@dataclass(frozen=True)
class Limits:
    """Bounds on one extraction; the defaults suit a 64 MiB router image."""

    max_total_bytes: int = 2 * 1024**3
    max_files: int = 200_000
    max_depth: int = 8  # nesting of archives/filesystems
    timeout_s: float = 300.0
    max_image_bytes: int = 1024**3


@dataclass
class Part:
    """One chunk or part of the image and what happened to it."""

    path: str  # where in the image, e.g. "0x40 lzma > 0x0 squashfs_v4_le"
    offset: int | None
    format: str  # "squashfs", "jffs2", "ubi", "cpio", "unknown", ...
    status: str  # "extracted" | "error" | "not_extracted" | "skipped_limit"
    reason: str = ""
    size: int | None = None


@dataclass
class Extraction:
    """Everything extract() learnt about an image."""

    image: Path
    work_dir: Path
    roots: list[Path]  # extracted Linux root filesystems, best first; may be empty
    parts: list[Part]
    metadata: dict[str, str]
    limits_hit: list[str] = field(default_factory=list)


class UnpackError(ValueError):
    """The input cannot be used at all (missing, not a regular file, empty, too large)."""


def check_image(image: Path, limits: Limits) -> int:
    """The image's size, or UnpackError when it cannot be used at all."""
    try:
        st = image.stat()
    except FileNotFoundError:
        raise UnpackError(f"{image}: file not found") from None
    except OSError as exc:
        raise UnpackError(f"{image}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnpackError(f"{image}: not a regular file")
    if st.st_size == 0:
        raise UnpackError(f"{image}: empty file")
    if st.st_size > limits.max_image_bytes:
        raise UnpackError(f"{image}: {st.st_size} bytes is over the {limits.max_image_bytes}-byte image limit")
    if not os.access(image, os.R_OK):
        raise UnpackError(f"{image}: not readable")
    return st.st_size


def extract(image: Path, work_dir: Path, limits: Limits = Limits()) -> Extraction:
    """Unpack ``image`` under ``work_dir`` (which the caller creates and deletes).

    Raises UnpackError only for unusable input; everything the image itself gets wrong is
    reported as parts with an error, not_extracted or skipped_limit status.
    """
    image = Path(image).resolve()
    work_dir = Path(work_dir).resolve()
    size = check_image(image, limits)
    work_dir.mkdir(parents=True, exist_ok=True)
    job = {"image": str(image), "work_dir": str(work_dir), "max_files": limits.max_files,
           "max_total_bytes": limits.max_total_bytes, "max_depth": limits.max_depth}
    run = sandbox.run_sandboxed(job, work_dir, timeout_s=limits.timeout_s,
                                max_total_bytes=limits.max_total_bytes, max_files=limits.max_files)
    parts, metadata, limits_hit, finished = _read_events(work_dir / "worker" / "events.jsonl")
    metadata["sandbox"] = run.isolation
    if run.limit_hit:
        limits_hit.append(run.limit_hit)
        parts.append(Part("image", 0, "unknown", "skipped_limit",
                          f"extraction stopped: {run.limit_hit}; partial output kept", size))
    elif not finished:
        parts.append(Part("image", 0, "unknown", "error",
                          f"extraction worker failed (exit {run.returncode}): {_last_line(run.stderr_tail)}", size))
    extract_root = work_dir / "extract"
    extract_root.mkdir(exist_ok=True)
    cleaned = sandbox.sanitise_tree(extract_root)
    _note_sanitising(cleaned, metadata, work_dir)
    # the watchdog polls, so a fast extractor can overshoot between two looks
    if cleaned.usage.files > limits.max_files and not run.limit_hit:
        limits_hit.append(f"file count limit {limits.max_files} reached")
    if cleaned.usage.bytes > limits.max_total_bytes and not run.limit_hit:
        limits_hit.append(f"total size limit {limits.max_total_bytes} bytes reached")
    if not parts:
        parts.append(Part("image", 0, "unknown", "not_extracted", "no known format found", size))
    roots = find_roots(extract_root)
    if roots:
        modules = _kernel_modules_version(roots[0])
        if modules and "kernel_version" not in metadata:
            metadata["kernel_version"] = modules
    log.info("%s: %d parts, %d roots, limits hit: %s", image.name, len(parts), len(roots), limits_hit or "none")
    return Extraction(image, work_dir, roots, parts, metadata, limits_hit)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _read_events(path: Path) -> tuple[list[Part], dict[str, str], list[str], bool]:
    parts: list[Part] = []
    metadata: dict[str, str] = {}
    limits_hit: list[str] = []
    finished = False
    if not path.exists():
        return parts, metadata, limits_hit, finished
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of a killed worker may be cut short
            if "part" in event:
                parts.append(Part(**event["part"]))
            elif "metadata" in event:
                for key, value in event["metadata"].items():
                    metadata.setdefault(key, str(value))
            elif "limit" in event:
                limits_hit.append(event["limit"])
            elif "done" in event:
                finished = True
    return parts, metadata, limits_hit, finished


def _note_sanitising(cleaned: sandbox.SanitiseReport, metadata: dict[str, str], work_dir: Path) -> None:
    metadata["extracted_files"] = str(cleaned.usage.files)
    metadata["extracted_bytes"] = str(cleaned.usage.bytes)
    if cleaned.removed_special:
        metadata["removed_special_files"] = str(len(cleaned.removed_special))
    if cleaned.removed_hardlinks:
        metadata["removed_outside_hardlinks"] = ", ".join(cleaned.removed_hardlinks[:20])
    if cleaned.setid_stripped:
        # analysers still need to know which files were set-uid in the firmware
        manifest = work_dir / "setid-files.json"
        manifest.write_text(json.dumps(cleaned.setid_stripped, indent=1), encoding="utf-8")
        metadata["setid_manifest"] = str(manifest)


def _kind(path: Path) -> str:
    """'dir', 'link', 'file' or '' for path, without following a final symlink."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return ""
    if stat.S_ISLNK(mode):
        return "link"
    return "dir" if stat.S_ISDIR(mode) else "file"


def _root_score(directory: Path) -> int:
    markers = sum(1 for name in _ROOT_MARKERS if _kind(directory / name) in ("dir", "link"))
    if markers < 2 or "dir" not in (_kind(directory / "etc"), _kind(directory / "bin")):
        return 0
    evidence = sum(1 for rel in _ROOT_EVIDENCE if os.path.lexists(directory / rel))
    return markers * 10 + evidence


def find_roots(tree: Path) -> list[Path]:
    """Directories under tree that look like a Linux root filesystem, best first.

    A root has at least two of etc/bin/sbin/usr/lib (etc or bin among them); directories inside
    a root found already are not roots of their own.
    """
    scored: list[tuple[int, int, Path]] = []
    stack: list[tuple[Path, int]] = [(tree, 0)]
    while stack:
        directory, depth = stack.pop()
        score = _root_score(directory)
        if score:
            scored.append((score, sandbox.measure_tree(directory, stop_after_files=100_000).files, directory))
            continue
        if depth >= _MAX_ROOT_SEARCH_DEPTH:
            continue
        try:
            children = [Path(e.path) for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        stack.extend((child, depth + 1) for child in sorted(children, reverse=True))
    scored.sort(key=lambda item: (-item[0], -item[1], str(item[2])))
    return [path for _score, _files, path in scored]


def _kernel_modules_version(root: Path) -> str | None:
    modules = root / "lib" / "modules"
    if _kind(root / "lib") != "dir" or _kind(modules) != "dir":
        return None
    versions = sorted(p.name for p in modules.iterdir() if _kind(p) == "dir")
    return versions[0] if versions else None
