"""Reading an uploaded programme workspace archive (.tar.gz or .zip) into {relative path: text}, and writing a
stored version back out as .tar.gz.

Nothing is extracted to disk here: members are read into memory with limits on the archive size, the number of
members, each file's size and the total unpacked size (so a small compressed bomb stops early). Any problem
refuses the whole archive with one `ArchiveRefused` line naming the member.
"""

from __future__ import annotations

import gzip
import io
import re
import stat
import tarfile
import zipfile
import zlib
from pathlib import PurePosixPath

from iotmark.programme.workspace import MAX_FILE_BYTES

MAX_ARCHIVE_BYTES = 5 * 1024 * 1024
MAX_MEMBERS = 500
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_PATH_CHARS = 255
# SARIF (an outside firm's findings, kept under imports/) is JSON under its own suffix.
ALLOWED_SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".sarif")
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveRefused(ValueError):
    """The upload is refused as a whole; the message is one line for the user."""


class _CappedReader(io.RawIOBase):
    """A read-only stream that refuses to yield more than `limit` bytes from `inner` (stops gzip bombs)."""

    def __init__(self, inner, limit: int):
        self._inner, self._left = inner, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._inner.read(min(len(buffer), self._left + 1))
        if len(chunk) > self._left:
            raise ArchiveRefused(f"the archive unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB")
        self._left -= len(chunk)
        buffer[:len(chunk)] = chunk
        return len(chunk)


def member_path(name: str) -> str | None:
    """The member's safe relative path ('' parts and a leading './' dropped), or None for the archive's root.
    Refuses absolute paths, drive letters, backslashes and '..' parts."""
    if "\x00" in name or "\\" in name:
        raise ArchiveRefused(f"{name!r}: unusual characters in the path (backslash or NUL); use plain / paths")
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveRefused(f"{name!r}: absolute paths are not allowed; archive the workspace folder's contents")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRefused(f"{name!r}: '..' in a path is not allowed")
    if len(name) > MAX_PATH_CHARS:
        raise ArchiveRefused(f"{name[:60]!r}...: path longer than {MAX_PATH_CHARS} characters")
    return "/".join(parts) or None


def _check_file(path: str, size: int) -> None:
    if not path.lower().endswith(ALLOWED_SUFFIXES):
        raise ArchiveRefused(f"{path}: only YAML, JSON, CSV and SARIF files may be in a workspace "
                             f"({', '.join(ALLOWED_SUFFIXES)})")
    if size > MAX_FILE_BYTES:
        raise ArchiveRefused(f"{path}: {size} bytes; the limit per file is {MAX_FILE_BYTES // (1024 * 1024)} MiB")


def _text(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArchiveRefused(f"{path}: not UTF-8 text") from None


def _add(files: dict[str, str], path: str, data: bytes) -> None:
    if path in files:
        raise ArchiveRefused(f"{path}: appears twice in the archive")
    files[path] = _text(path, data)


def _read_tar(data: bytes) -> dict[str, str]:
    files: dict[str, str] = {}
    stream = io.BufferedReader(_CappedReader(gzip.GzipFile(fileobj=io.BytesIO(data)), MAX_UNPACKED_BYTES))
    count = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                count += 1
                if count > MAX_MEMBERS:
                    raise ArchiveRefused(f"more than {MAX_MEMBERS} entries in the archive")
                path = member_path(member.name)
                if member.issym() or member.islnk():
                    raise ArchiveRefused(f"{member.name}: links are not allowed in a workspace archive")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ArchiveRefused(f"{member.name}: only plain files and folders are allowed")
                if path is None:
                    raise ArchiveRefused(f"{member.name!r}: a file without a name")
                _check_file(path, member.size)
                handle = archive.extractfile(member)
                _add(files, path, handle.read() if handle else b"")
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile, zlib.error) as exc:
        raise ArchiveRefused(f"the .tar.gz archive is damaged or not a tar archive ({_reason(exc)})") from None
    return files


def _read_zip(data: bytes) -> dict[str, str]:
    files: dict[str, str] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise ArchiveRefused(f"{len(members)} entries in the archive; the limit is {MAX_MEMBERS}")
            unpacked = 0
            for info in members:
                path = member_path(info.filename)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise ArchiveRefused(f"{info.filename}: links are not allowed in a workspace archive")
                if info.is_dir():
                    continue
                if path is None:
                    raise ArchiveRefused(f"{info.filename!r}: a file without a name")
                if info.flag_bits & 0x1:
                    raise ArchiveRefused(f"{path}: encrypted files are not allowed")
                _check_file(path, info.file_size)
                with archive.open(info) as handle:
                    # the header's size may lie: read at most one byte past the limit and check again
                    content = handle.read(MAX_FILE_BYTES + 1)
                _check_file(path, len(content))
                unpacked += len(content)
                if unpacked > MAX_UNPACKED_BYTES:
                    raise ArchiveRefused(f"the archive unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB")
                _add(files, path, content)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, zlib.error) as exc:
        raise ArchiveRefused(f"the .zip archive is damaged or uses an unsupported format ({_reason(exc)})") from None
    return files


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _strip_single_folder(files: dict[str, str]) -> dict[str, str]:
    """Archives made of the workspace folder itself (`tar czf ws.tar.gz programme/`) hold one top folder;
    the workspace is what is inside it."""
    if "organisation.yaml" in files or not files:
        return files
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1 or not all("/" in path for path in files):
        return files
    return {path.split("/", 1)[1]: text for path, text in files.items()}


def read_archive(data: bytes) -> dict[str, str]:
    """The workspace files of a .tar.gz or .zip upload as {relative path: text}; `ArchiveRefused` otherwise."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArchiveRefused(f"the archive is {len(data)} bytes; the limit is {MAX_ARCHIVE_BYTES // (1024 * 1024)} MiB")
    if data[:2] == b"\x1f\x8b":
        files = _read_tar(data)
    elif data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        files = _read_zip(data)
    else:
        raise ArchiveRefused("not a .tar.gz or .zip archive")
    if not files:
        raise ArchiveRefused("the archive holds no files")
    return _strip_single_folder(files)


def write_tar_gz(files: dict[str, str], mtime: float) -> bytes:
    """A .tar.gz of the files (sorted, owner root, mode 0644, the given modification time): the same version
    always gives the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=int(mtime)) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path in sorted(files):
                content = files[path].encode("utf-8")
                info = tarfile.TarInfo(str(PurePosixPath(path)))
                info.size, info.mtime, info.mode = len(content), int(mtime), 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
