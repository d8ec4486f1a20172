"""Extraction worker: runs unblob on one image inside the sandbox and streams what happened.

Started by ``sandbox.run_sandboxed`` as ``python -m iotmark.collect.firmware._extract_worker
JOB.json``. It confines its own writes to the work folder (Landlock, where the kernel has it),
then writes one JSON object per line to ``events.jsonl``: ``{"part": ...}``, ``{"limit": ...}``
or ``{"metadata": ...}``. Lines are flushed as they happen so a killed worker still leaves a
record of what it did.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import IO, Any

import structlog

from ._deferred_lief import defer_lief

defer_lief()  # before unblob's handlers are imported (unblob_handlers imports them)

from . import squashfs, unblob_handlers  # noqa: E402
from .unblob_handlers import find_uimage_headers  # noqa: E402

log = logging.getLogger(__name__)

_KERNEL_VERSION = re.compile(rb"Linux version (\d+\.\d+[\w.+\-]*)")
_SCAN_LIMIT = 64 * 1024**2
_CARVED = re.compile(r"^\d+-\d+\.[\w\-]+$")
# extractors killed by the sandbox's resource limits (negative exit = signal number)
_LIMIT_SIGNALS = {-signal.SIGXFSZ: "file size limit reached", -signal.SIGXCPU: "CPU time limit reached",
                  -signal.SIGKILL: "killed (memory or time limit)"}
_DOCUMENTATION = re.compile(r"/usr/share/(doc|man|info|locale)/.*\.(gz|bz2|xz)$")
_FORMAT_PREFIXES = ("squashfs", "jffs2", "cpio", "trx", "ubi", "lz4", "minix_fs", "alpha_encimg", "elf")


# Signatures of containers worth searching when they sit inside an extracted tree:
# (offset, bytes). ELF and text files are left alone; they are analysed, not unpacked.
_CONTAINER_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\x1f\x8b"), (0, b"\xfd7zXZ\x00"), (0, b"\x5d\x00\x00"), (0, b"BZh"), (0, b"\x28\xb5\x2f\xfd"),
    (0, b"\x04\x22\x4d\x18"), (0, b"\x89LZO"), (0, b"\x1f\x9d"), (0, b"PK\x03\x04"), (0, b"7z\xbc\xaf\x27\x1c"),
    (0, b"Rar!"), (0, b"0707"), (0, b"\xc7\x71"), (0, b"\x71\xc7"), (0, b"hsqs"), (0, b"sqsh"), (0, b"shsq"),
    (0, b"qshs"), (0, b"sqlz"), (0, b"hsqt"), (0, b"tqsh"), (0, b"\x45\x3d\xcd\x28"), (0, b"\x28\xcd\x3d\x45"),
    (0, b"\x85\x19"), (0, b"\x19\x85"), (0, b"UBI#"), (0, b"\x31\x18\x10\x06"), (0, b"\x27\x05\x19\x56"),
    (0, b"HDR0"), (0, b"-rom1fs-"), (0, b"\x3a\xff\x26\xed"), (257, b"ustar"), (0x438, b"\x53\xef"),
    (1024, b"\xe2\xe1\xf5\xe0"), (0x8001, b"CD001"),
)


def looks_like_container(path: Path) -> bool:
    """True when the file starts with the signature of an archive, compressor or filesystem."""
    try:
        with path.open("rb") as fh:
            head = fh.read(0x8006)
    except OSError:
        return False
    return any(head[off:off + len(magic)] == magic for off, magic in _CONTAINER_MAGIC)


class EventLog:
    """Append-only JSON-lines record shared with the parent."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def emit(self, kind: str, value: Any) -> None:
        self._stream.write(json.dumps({kind: value}) + "\n")
        self._stream.flush()


def format_of(handler_name: str) -> str:
    """Family name of an unblob handler: squashfs_v4_le -> squashfs, multi-gzip -> gzip."""
    name = handler_name.removeprefix("multi-")
    for prefix in _FORMAT_PREFIXES:
        if name.startswith(prefix):
            return prefix
    return name


def _confine(work_dir: Path) -> str:
    """Restrict this process and its children to writing inside work_dir; say how."""
    try:
        from unblob._rust.sandbox import AccessFS, SandboxError, restrict_access
    except ImportError:
        return "no landlock support in unblob"
    try:
        restrict_access(
            AccessFS.read("/"),
            AccessFS.read_write(work_dir),
            AccessFS.make_dir(work_dir),
            AccessFS.remove_dir(work_dir),
            AccessFS.remove_file(work_dir),
            AccessFS.read_write("/dev/null"),
        )
    except SandboxError as exc:
        return f"landlock unavailable: {exc}"
    return "landlock"


class _Describer:
    """Turns unblob task results into Part dicts with a readable path through the image."""

    def __init__(self, extract_root: Path) -> None:
        self.extract_root = extract_root
        self.labels: dict[str, str] = {}
        self.handlers: dict[str, str] = {}

    def location(self, task: Any) -> str:
        parent = self.labels.get(task.blob_id, "")
        if task.depth == 0:
            return parent
        inner = str(task.path).rsplit("_extract/", 1)[-1]
        if _CARVED.match(Path(inner).name) or "_extract" not in str(task.path):
            return parent
        return f"{parent} > {inner}" if parent else inner

    def parts(self, result: Any) -> list[dict[str, Any]]:
        out = []
        where = self.location(result.task)
        for report in result.reports:
            kind = type(report).__name__
            if kind == "ChunkReport" and report.handler_name == "padding":
                continue  # one repeated byte between parts: nothing to extract or report
            if kind == "ChunkReport":
                label = f"{where} > 0x{report.start_offset:x} {report.handler_name}".lstrip(" >")
                self.labels[report.id] = label
                self.handlers[report.id] = report.handler_name
                status, reason = _chunk_status(report)
                out.append({"path": label, "offset": report.start_offset, "format": format_of(report.handler_name),
                            "status": status, "reason": reason, "size": report.size})
            elif kind == "UnknownChunkReport":
                label = f"{where} > 0x{report.start_offset:x} unknown".lstrip(" >")
                out.append({"path": label, "offset": report.start_offset, "format": "unknown",
                            "status": "not_extracted", "reason": "no known format in this range",
                            "size": report.size})
            elif kind in ("UnknownError", "CalculateChunkExceptionReport", "CalculateMultiFileExceptionReport"):
                handler = getattr(report, "handler", "unknown")
                out.append({"path": where or result.task.path.name, "offset": getattr(report, "start_offset", None),
                            "format": format_of(handler), "status": "error",
                            "reason": _last_line(str(report.exception)), "size": None})
        return out


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else text)[:300]


def _chunk_status(report: Any) -> tuple[str, str]:
    if report.is_encrypted:
        return "not_extracted", "encrypted"
    notes, errors = [], []
    for sub in report.extraction_reports:
        kind = type(sub).__name__
        if kind == "ExtractorDependencyNotFoundReport":
            return "not_extracted", "extractor not installed: " + ", ".join(sub.dependencies)
        if kind == "ExtractorTimedOut":
            return "skipped_limit", f"extractor timed out after {sub.timeout}s"
        if kind == "ExtractCommandFailedReport" and sub.exit_code in _LIMIT_SIGNALS:
            return "skipped_limit", f"{sub.command.split()[0]} stopped: {_LIMIT_SIGNALS[sub.exit_code]}"
        if kind == "ExtractCommandFailedReport":
            stderr = _last_line(sub.stderr.decode("utf-8", "replace"))
            errors.append(f"{sub.command.split()[0]} exited {sub.exit_code}: {stderr}")
        elif kind == "SquashfsReaderFailed":
            errors.append(f"{sub.unsquashfs}; iotmark reader: {sub.reader}")
        elif kind == "UnknownError":
            errors.append(_last_line(str(sub.exception)))
        elif hasattr(sub, "severity"):
            errors.append(getattr(sub, "problem", None) or kind)
        elif hasattr(sub, "problem"):
            notes.append(f"{sub.problem}: {sub.resolution}")
    if errors:
        return "error", "; ".join(errors)[:500]
    return "extracted", "; ".join(notes)[:500]


class Walk:
    """unblob's processing loop with iotmark's depth and search policy."""

    def __init__(self, config: Any, events: EventLog, max_depth: int) -> None:
        from unblob.models import HandlerType
        from unblob.processing import Processor

        self.config = config
        self.events = events
        self.max_depth = max_depth
        self.processor = Processor(config)
        self.describer = _Describer(config.extract_root)
        self.compression = {h.NAME for h in config.handlers if h.DOC.handler_type == HandlerType.COMPRESSION}
        self.decompressed: list[Path] = []
        self.depth_hit = False

    def run(self, image: Path) -> None:
        from unblob.models import Task
        from unblob.pool import make_pool

        pool = make_pool(process_num=1, handler=self.processor.process_task, result_callback=self._on_result)
        with pool:
            pool.submit(Task(blob_id="", path=image, depth=0))
            pool.process_until_done()

    def _on_result(self, pool: Any, result: Any) -> None:
        for part in self.describer.parts(result):
            self.events.emit("part", part)
            if part["status"] == "skipped_limit":
                self.events.emit("limit", part["reason"])
        for task in result.subtasks:
            if self._wanted(task):
                pool.submit(task)

    def _wanted(self, task: Any) -> bool:
        path = task.path
        if path.is_symlink():
            return False
        producer = self.describer.handlers.get(task.blob_id, "")
        if task.depth >= self.max_depth:
            self._record_depth_limit(task)
            return False
        if path.is_dir() or task.is_multi_file:
            return True
        if producer in self.compression:
            # a decompressed stream (kernel, initramfs) can hide anything at any offset
            self.decompressed.append(path)
            return True
        # members of filesystems and archives are searched only when they start like a container, and
        # compressed manuals and package docs (gzip in nearly every image) are left as they are
        if _DOCUMENTATION.search(path.as_posix()):
            return False
        return looks_like_container(path)

    def _record_depth_limit(self, task: Any) -> None:
        candidates = [task.path] if task.path.is_file() else list(_first_files(task.path, 50))
        for path in candidates:
            if path.is_file() and not path.is_symlink() and looks_like_container(path):
                if not self.depth_hit:
                    self.events.emit("limit", f"nesting depth limit {self.max_depth} reached")
                    self.depth_hit = True
                self.events.emit("part", {
                    "path": f"{self.describer.location(task)} > {path.name}".lstrip(" >"),
                    "offset": None, "format": "unknown", "status": "skipped_limit",
                    "reason": f"nested deeper than {self.max_depth} levels; not searched",
                    "size": path.stat().st_size})


def _first_files(directory: Path, count: int):
    for n, entry in enumerate(os.scandir(directory)):
        if n >= count:
            return
        yield Path(entry.path)


def kernel_version(paths: list[Path]) -> str | None:
    """First 'Linux version x.y.z' banner in the given files (each read up to 64 MiB)."""
    for path in paths:
        try:
            with path.open("rb") as fh:
                match = _KERNEL_VERSION.search(fh.read(_SCAN_LIMIT))
        except OSError:
            continue
        if match:
            return match.group(1).decode("ascii", "replace")
    return None


def run(job: dict[str, Any]) -> int:
    """Extract job['image'] under job['work_dir']; return the exit status."""
    from unblob.handlers import BUILTIN_HANDLERS
    from unblob.processing import ExtractionConfig

    image, work_dir = Path(job["image"]), Path(job["work_dir"])
    confinement = _confine(work_dir)
    extract_root = work_dir / "extract"
    extract_root.mkdir(exist_ok=True)
    unblob_handlers.reader_limits = squashfs.ReadLimits(max_files=job["max_files"], max_bytes=job["max_total_bytes"])
    handlers = unblob_handlers.handlers_with_plugin(BUILTIN_HANDLERS)
    config = ExtractionConfig(extract_root=extract_root, randomness_depth=0, max_depth=job["max_depth"] + 1,
                              process_num=1, handlers=handlers)
    with (work_dir / "worker" / "events.jsonl").open("a", encoding="utf-8") as stream:
        events = EventLog(stream)
        events.emit("metadata", {"sandbox_confinement": confinement})
        for header in find_uimage_headers(image):
            events.emit("metadata", header.metadata())
            if header.offset == 0 and "header CRC" in header.problem:
                # unblob's uImage handler rejects a bad header, so record it here
                events.emit("part", header.part())
        walk = Walk(config, events, job["max_depth"])
        walk.run(image)
        version = kernel_version([image, *walk.decompressed])
        if version:
            events.emit("metadata", {"kernel_version": version})
        events.emit("done", True)
    return 0


def main() -> int:
    """Entry point: one argument, the job file."""
    # File-size overruns must fail the write (EFBIG), not kill the process silently.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    return run(job)


if __name__ == "__main__":
    sys.exit(main())
