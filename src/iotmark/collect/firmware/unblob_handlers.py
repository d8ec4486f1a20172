"""unblob plugin: squashfs handlers that work without sasquatch.

unblob's built-in squashfs handlers call ``sasquatch``, which neither Debian nor PyPI ships, so
out of the box unblob extracts no squashfs at all. These handlers keep unblob's detection and
chunk sizing but extract with Debian's ``unsquashfs`` and, when it rejects the image (v4
big-endian, vendor LZMA), with iotmark's own reader. Registered through unblob's pluggy hook.
"""

from __future__ import annotations

import logging
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unblob.handlers.filesystem import squashfs as builtin
from unblob.file_utils import InvalidInputFormat
from unblob.models import (
    ExtractError, Extractor, ExtractResult, File, Handler, HandlerDoc, HandlerType, HexString, ValidChunk,
)
from unblob.plugins import hookimpl
from unblob.report import ErrorReport, ExtractionProblem, Report, Severity

from . import squashfs

log = logging.getLogger(__name__)

# The extraction worker narrows these to the caller's limits before processing.
reader_limits = squashfs.ReadLimits()


class CorruptHeader(ErrorReport):
    """A container header failed its own integrity check; the payload was kept as is."""

    severity: Severity = Severity.ERROR
    problem: str


class SquashfsReaderFailed(ErrorReport):
    """Neither unsquashfs nor the iotmark reader could extract the image."""

    severity: Severity = Severity.ERROR
    unsquashfs: str
    reader: str


def _tail(text: bytes, lines: int = 2) -> str:
    kept = [line.strip() for line in text.decode("utf-8", "replace").splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[:300]


def _run_unsquashfs(inpath: Path, outdir: Path) -> str | None:
    """Extract with unsquashfs; return None on success or why it failed."""
    if shutil.which("unsquashfs") is None:
        return "unsquashfs not installed"
    # -no-exit-code: device nodes that cannot be created in a user namespace are not fatal
    cmd = ["unsquashfs", "-no-exit-code", "-no-progress", "-no-xattrs", "-f", "-d", str(outdir), str(inpath)]
    proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode == 0:
        return None
    return f"unsquashfs exited {proc.returncode}: {_tail(proc.stderr)}"


def _clear(outdir: Path) -> None:
    # unsquashfs may have written part of the tree before giving up; start the reader clean
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)


class UnsquashfsThenReaderExtractor(Extractor):
    """unsquashfs first; iotmark's reader for what unsquashfs rejects."""

    def get_dependencies(self) -> list[str]:
        return ["unsquashfs"]

    def extract(self, inpath: Path, outdir: Path) -> ExtractResult | None:
        refusal = _run_unsquashfs(inpath, outdir)
        if refusal is None:
            return ExtractResult(reports=[])
        _clear(outdir)
        try:
            stats = squashfs.extract(inpath, outdir, limits=reader_limits)
        except squashfs.SquashfsError as exc:
            raise ExtractError(SquashfsReaderFailed(unsquashfs=refusal, reader=str(exc))) from exc
        reports: list[Report] = [ExtractionProblem(
            problem=refusal,
            resolution=f"extracted with the iotmark squashfs reader (v{stats.version}, {stats.compression})",
        )]
        if stats.skipped:
            reports.append(ExtractionProblem(
                problem=f"{len(stats.skipped)} entries not extracted",
                resolution="; ".join(stats.skipped[:5]),
            ))
        return ExtractResult(reports=reports)


_UIMAGE_SCAN_LIMIT = 64 * 1024**2
# U-Boot legacy image header (include/image.h): magic, header CRC, time, size, load, entry,
# data CRC, os, arch, type, compression, 32-byte name.
_UIMAGE = struct.Struct(">IIIIIIIBBBB32s")
_UIMAGE_MAGIC = b"\x27\x05\x19\x56"
_ARCH = {1: "alpha", 2: "arm", 3: "x86", 4: "ia64", 5: "mips", 6: "mips64", 7: "powerpc", 8: "s390",
         9: "sh", 10: "sparc", 11: "sparc64", 12: "m68k", 15: "nios2", 22: "arm64", 23: "arc",
         24: "x86_64", 25: "xtensa", 26: "riscv"}
_TYPE = {1: "standalone", 2: "kernel", 3: "ramdisk", 4: "multi", 5: "firmware", 6: "script", 7: "filesystem"}
_COMP = {0: "none", 1: "gzip", 2: "bzip2", 3: "lzma", 4: "lzo", 5: "lz4", 6: "zstd"}


@dataclass
class UImageHeader:
    """One U-Boot legacy header found in the image, with its CRC checks."""

    offset: int
    name: str
    arch: str
    image_type: str
    compression: str
    created: str
    size: int
    problem: str

    def part(self) -> dict[str, Any]:
        return {"path": f"0x{self.offset:x} uimage", "offset": self.offset, "format": "uimage",
                "status": "error" if self.problem else "extracted",
                "reason": self.problem or f"{self.image_type} '{self.name}' for {self.arch}, {self.compression}",
                "size": self.size + 64}

    def metadata(self) -> dict[str, str]:
        return {"uimage_name": self.name, "architecture": self.arch, "build_date": self.created,
                "uimage_type": self.image_type}


def find_uimage_headers(image: Path, limit: int = 8) -> list[UImageHeader]:
    """U-Boot headers whose header CRC is valid (or that start the image), data CRC checked."""
    found: list[UImageHeader] = []
    with image.open("rb") as fh:
        data = fh.read(_UIMAGE_SCAN_LIMIT)
    pos = data.find(_UIMAGE_MAGIC)
    while pos >= 0 and len(found) < limit:
        header = data[pos:pos + 64]
        if len(header) == 64:
            parsed = _parse_uimage(data, pos, header)
            if parsed:
                found.append(parsed)
        pos = data.find(_UIMAGE_MAGIC, pos + 4)
    return found


def _parse_uimage(data: bytes, pos: int, header: bytes, check_data: bool = True) -> UImageHeader | None:
    """Parse the header at pos; None when the magic there is a chance match."""
    _m, hcrc, stamp, size, _load, _entry, dcrc, _os, arch, kind, comp, name = _UIMAGE.unpack(header)
    header_ok = zlib.crc32(header[:4] + b"\0\0\0\0" + header[8:]) == hcrc
    if not header_ok and pos != 0:
        return None
    problem = "" if header_ok else "uImage header CRC mismatch"
    payload = data[pos + 64:pos + 64 + size]
    if header_ok and check_data and len(payload) < size:
        problem = f"uImage payload truncated: header says {size} bytes, {len(payload)} present"
    elif header_ok and check_data and zlib.crc32(payload) != dcrc:
        problem = "uImage data CRC mismatch"
    return UImageHeader(
        offset=pos, name=name.split(b"\0", 1)[0].decode("latin-1"), arch=_ARCH.get(arch, f"arch {arch}"),
        image_type=_TYPE.get(kind, f"type {kind}"), compression=_COMP.get(comp, f"compression {comp}"),
        created=datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), size=size, problem=problem)


class UImagePayloadExtractor(Extractor):
    """Writes the payload of a U-Boot legacy image; unblob then searches it."""

    def extract(self, inpath: Path, outdir: Path) -> ExtractResult | None:
        data = inpath.read_bytes()
        header = _parse_uimage(data, 0, data[:64])
        if header is None:
            raise ExtractError(CorruptHeader(problem="uImage header unreadable"))
        (outdir / header.image_type.replace(" ", "_")).write_bytes(data[64:64 + header.size])
        if header.problem:
            # still searched, but the part is reported as damaged
            raise ExtractError(CorruptHeader(problem=header.problem + "; payload kept as is"))
        return ExtractResult(reports=[])


class UImageHandler(Handler):
    """U-Boot legacy image (uImage): 64-byte header with name, architecture, date and CRCs."""

    NAME = "uimage"
    PATTERNS = [HexString("27 05 19 56")]
    EXTRACTOR = UImagePayloadExtractor()
    DOC = HandlerDoc(name="U-Boot legacy image", description="64-byte header before a kernel, ramdisk or firmware",
                     vendor=None, references=[], limitations=[], handler_type=HandlerType.ARCHIVE)

    def calculate_chunk(self, file: File, start_offset: int) -> ValidChunk | None:
        file.seek(start_offset)
        header = file.read(64)
        parsed = _parse_uimage(header, 0, header, check_data=False)
        if parsed is None or "header CRC" in parsed.problem:
            raise InvalidInputFormat("not a uImage header")
        return ValidChunk(start_offset=start_offset, end_offset=start_offset + 64 + parsed.size)


_EXTRACTOR = UnsquashfsThenReaderExtractor()


def _replacement(base: type[Handler]) -> type[Handler]:
    return type(base.__name__, (base,), {"EXTRACTOR": _EXTRACTOR, "__module__": __name__})


_BUILTIN_SQUASHFS = (
    builtin.SquashFSv1Handler, builtin.SquashFSv2Handler, builtin.SquashFSv2NonStandardHandler,
    builtin.SquashFSv3Handler, builtin.SquashFSv3DDWRTHandler, builtin.SquashFSv3BroadcomHandler,
    builtin.SquashFSv3NSHandler, builtin.SquashFSv4LEHandler, builtin.SquashFSv4BEHandler,
    builtin.SquashFSv4BroadcomHandler,
)
HANDLERS: tuple[type[Handler], ...] = (*(_replacement(h) for h in _BUILTIN_SQUASHFS), UImageHandler)


@hookimpl
def unblob_register_handlers() -> list[type[Handler]]:
    """unblob hook: the squashfs and uImage handlers of this module."""
    return list(HANDLERS)


@hookimpl
def unblob_register_reports() -> list[type[Report]]:
    """unblob hook: report types this plugin emits."""
    return [SquashfsReaderFailed, CorruptHeader]


def handlers_with_plugin(builtin_handlers: tuple[type[Handler], ...]) -> tuple[type[Handler], ...]:
    """Built-in handlers with the plugin's handlers replacing those of the same name.

    Loads this module through unblob's plugin manager, as unblob's own CLI loads plugins.
    """
    from unblob.plugins import UnblobPluginManager
    from unblob.report import register_report_types

    manager = UnblobPluginManager()
    manager.register(sys.modules[__name__])
    extra = manager.load_handlers_from_plugins()
    register_report_types(manager.load_report_types_from_plugins())
    replaced = {h.NAME for h in extra}
    return tuple(h for h in builtin_handlers if h.NAME not in replaced) + tuple(extra)
