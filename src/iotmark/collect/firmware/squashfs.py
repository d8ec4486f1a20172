"""Pure-Python squashfs reader for the images Debian's unsquashfs rejects.

Vendors ship squashfs 3.x big-endian images and LZMA variants (raw streams, lzma-alone headers
without a size field, odd lc/lp/pb properties) that stock squashfs-tools refuse. This reader
handles versions 3 and 4 in either byte order with gzip, lzma (and its vendor variants), xz, lzo,
lz4 and zstd, writes only inside its destination and stops at the given limits.
Layout facts follow the squashfs on-disk format (Linux ``squashfs_fs.h``; 3.x ``squashfs_fs.h``).
"""

from __future__ import annotations

import io
import logging
import lzma
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

METADATA_SIZE = 8192
_META_UNCOMPRESSED = 0x8000
_BLOCK_UNCOMPRESSED = 1 << 24
_NO_FRAGMENT = 0xFFFFFFFF
_V3_CHECK_FLAG = 0x04
_MAGICS = {b"hsqs", b"sqsh", b"shsq", b"qshs", b"sqlz", b"zlqs", b"tqsh", b"hsqt"}
COMPRESSORS = {1: "gzip", 2: "lzma", 3: "lzo", 4: "xz", 5: "lz4", 6: "zstd"}


class SquashfsError(ValueError):
    """The image is not a squashfs filesystem this reader can read."""


class SquashfsLimitError(SquashfsError):
    """Extraction stopped at a size or count limit."""


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what one extraction may produce."""

    max_files: int = 200_000
    max_bytes: int = 2 * 1024**3
    max_metadata_bytes: int = 256 * 1024**2
    max_dir_depth: int = 128


@dataclass(frozen=True)
class Superblock:
    """The fields of a v3 or v4 superblock that reading needs."""

    major: int
    minor: int
    endian: str  # struct prefix, "<" or ">"
    block_size: int
    compression: str
    flags: int
    root_inode: int
    bytes_used: int
    inode_table_start: int
    directory_table_start: int
    fragment_table_start: int
    fragments: int


@dataclass
class Inode:
    """One inode, reduced to what extraction needs."""

    kind: str  # dir | file | symlink | blockdev | chardev | fifo | socket
    mode: int
    file_size: int = 0
    start_block: int = 0
    fragment: int = _NO_FRAGMENT
    frag_offset: int = 0
    block_sizes: list[int] = field(default_factory=list)
    dir_block: int = 0
    dir_offset: int = 0
    target: bytes = b""


@dataclass
class ExtractStats:
    """What one extraction wrote and what it left out."""

    version: str
    compression: str
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    bytes_written: int = 0
    skipped: list[str] = field(default_factory=list)


# --- decompression --------------------------------------------------------------------------


def _inflate(data: bytes, max_out: int) -> bytes:
    return zlib.decompressobj().decompress(data, max_out + 1)


def _unxz(data: bytes, max_out: int) -> bytes:
    return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data, max_out + 1)


def _lzma_props_valid(first: int) -> bool:
    # lc + lp*9 + pb*45 must stay below 9*5*5
    return first < 225


def _lzma_alone(data: bytes, max_out: int) -> bytes:
    return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(data, max_out + 1)


def _lzma_no_size(data: bytes, max_out: int) -> bytes:
    # Some vendors keep the 5 property bytes but drop the 8-byte size field.
    patched = data[:5] + b"\xff" * 8 + data[5:]
    return _lzma_alone(patched, max_out)


def _lzma_raw(lc: int, lp: int, pb: int) -> Callable[[bytes, int], bytes]:
    def decode(data: bytes, max_out: int) -> bytes:
        filters = [{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 20, "lc": lc, "lp": lp, "pb": pb}]
        decoder = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
        out = decoder.decompress(data, max_out + 1)
        # wrong properties can decode to garbage without an error; accept only a stream that
        # ends cleanly or fills the block exactly
        if not decoder.eof and len(out) != max_out:
            raise ValueError("raw LZMA stream did not end where expected")
        return out

    decode.__name__ = f"lzma_raw_lc{lc}_lp{lp}_pb{pb}"
    return decode


_LZMA_VARIANTS: list[Callable[[bytes, int], bytes]] = [
    _lzma_alone,
    _lzma_no_size,
    _lzma_raw(3, 0, 2),
    _lzma_raw(0, 2, 0),
    _lzma_raw(1, 3, 0),
]


def _unlzo(data: bytes, max_out: int) -> bytes:
    try:
        import lzallright  # optional: only LZO images need it
    except ImportError as exc:
        raise SquashfsError("lzo compression needs the lzallright package") from exc
    return lzallright.LZOCompressor().decompress(data, output_size_hint=max_out)


def _unlz4(data: bytes, max_out: int) -> bytes:
    import lz4.block  # optional: only LZ4 images need it

    return lz4.block.decompress(data, uncompressed_size=max_out)


def _unzstd(data: bytes, max_out: int) -> bytes:
    import zstandard  # optional: only zstd images need it

    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
        return reader.read(max_out + 1)


class Decompressor:
    """Decompresses blocks; for LZMA it learns which vendor variant the image uses."""

    def __init__(self, compression: str) -> None:
        self.compression = compression
        table: dict[str, list[Callable[[bytes, int], bytes]]] = {
            "gzip": [_inflate],
            "xz": [_unxz],
            "lzo": [_unlzo],
            "lz4": [_unlz4],
            "zstd": [_unzstd],
            "lzma": list(_LZMA_VARIANTS),
            # squashfs 3.x has no compressor field: zlib officially, LZMA in vendor builds
            "auto": [_inflate, *_LZMA_VARIANTS],
        }
        if compression not in table:
            raise SquashfsError(f"unsupported squashfs compression {compression!r}")
        self._variants = table[compression]

    def __call__(self, data: bytes, max_out: int) -> bytes:
        last: Exception | None = None
        for index, variant in enumerate(self._variants):
            if not _plausible(variant, data):
                continue
            try:
                out = variant(data, max_out)
            except (zlib.error, lzma.LZMAError, EOFError, ValueError, RuntimeError, OSError) as exc:
                last = exc
                continue
            except Exception as exc:  # third-party codecs raise their own error types
                last = exc
                continue
            if not out:
                continue
            if len(out) > max_out:
                raise SquashfsError(f"block decompresses beyond {max_out} bytes")
            if index:
                # try the variant that worked first next time
                self._variants.insert(0, self._variants.pop(index))
            return out
        raise SquashfsError(f"cannot decompress {self.compression} block: {last}")


def _plausible(variant: Callable[[bytes, int], bytes], data: bytes) -> bool:
    if variant in (_lzma_alone, _lzma_no_size):
        return len(data) > 5 and _lzma_props_valid(data[0])
    return True


# --- superblock ---------------------------------------------------------------------------


def read_superblock(head: bytes) -> Superblock:
    """Parse a v3 or v4 superblock from the first bytes of the filesystem."""
    if len(head) < 96 or head[:4] not in _MAGICS:
        raise SquashfsError("no squashfs superblock")
    # vendor magics exist in both byte orders, so the version field decides
    le_major = struct.unpack_from("<H", head, 28)[0]
    be_major = struct.unpack_from(">H", head, 28)[0]
    if le_major in (3, 4):
        endian = "<"
    elif be_major in (3, 4):
        endian = ">"
    else:
        raise SquashfsError(f"unsupported squashfs version {min(le_major, be_major)}")
    major = le_major if endian == "<" else be_major
    if major == 4:
        return _superblock_v4(head, endian)
    return _superblock_v3(head, endian)


def _superblock_v4(head: bytes, e: str) -> Superblock:
    (_, _inodes, _mtime, block_size, fragments, comp, block_log, flags, _ids, major, minor,
     root, used, _id_start, _xattr, inode_start, dir_start, frag_start, _lookup) = struct.unpack_from(
        e + "4sIIIIHHHHHHQQQQQQQQ", head)
    if block_size != 1 << block_log or not 4096 <= block_size <= 1 << 20:
        raise SquashfsError(f"implausible block size {block_size}")
    if comp not in COMPRESSORS:
        raise SquashfsError(f"unknown compressor id {comp}")
    return Superblock(major, minor, e, block_size, COMPRESSORS[comp], flags, root, used,
                      inode_start, dir_start, frag_start, fragments)


def _superblock_v3(head: bytes, e: str) -> Superblock:
    major, minor, _bs1, block_log, flags = struct.unpack_from(e + "HHHHB", head, 28)
    root, block_size, fragments = struct.unpack_from(e + "QII", head, 43)
    used, _uid, _gid, inode_start, dir_start, frag_start, _lookup = struct.unpack_from(
        e + "QQQQQQQ", head, 63)
    if block_size != 1 << block_log or not 4096 <= block_size <= 1 << 20:
        raise SquashfsError(f"implausible block size {block_size}")
    return Superblock(major, minor, e, block_size, "auto", flags, root, used,
                      inode_start, dir_start, frag_start, fragments)


def _bitfields(data: bytes, widths: tuple[int, ...], big: bool) -> list[int]:
    """Unpack packed C bitfields as GCC lays them out (MSB-first on big-endian targets)."""
    total = len(data) * 8
    value = int.from_bytes(data, "big" if big else "little")
    out, pos = [], 0
    for width in widths:
        shift = total - pos - width if big else pos
        out.append((value >> shift) & ((1 << width) - 1))
        pos += width
    return out


# --- the image --------------------------------------------------------------------------------


class SquashfsImage:
    """Random access to one squashfs filesystem inside a file, starting at ``offset``."""

    def __init__(self, fh: io.BufferedReader, offset: int = 0, limits: ReadLimits = ReadLimits()):
        self._fh = fh
        self._base = offset
        self.limits = limits
        fh.seek(offset)
        self.sb = read_superblock(fh.read(128))
        self._e = self.sb.endian
        self._v3 = self.sb.major == 3
        self.decompress = Decompressor(self.sb.compression)
        self._meta_cache: dict[int, tuple[bytes, int]] = {}
        self._meta_total = 0
        self._fragments: list[tuple[int, int]] | None = None
        self._frag_cache: tuple[int, bytes] | None = None

    # raw access
    def _read_at(self, pos: int, size: int) -> bytes:
        if pos < 0 or size < 0 or pos + size > self.sb.bytes_used + 8:
            raise SquashfsError(f"read outside the filesystem at {pos}")
        self._fh.seek(self._base + pos)
        data = self._fh.read(size)
        if len(data) != size:
            raise SquashfsError(f"image truncated at offset {self._base + pos}")
        return data

    def metadata_block(self, pos: int) -> tuple[bytes, int]:
        """Return the decompressed metadata block at ``pos`` and the position of the next one."""
        cached = self._meta_cache.get(pos)
        if cached:
            return cached
        (header,) = struct.unpack(self._e + "H", self._read_at(pos, 2))
        size = header & 0x7FFF
        start = pos + 2 + (1 if self._v3 and self.sb.flags & _V3_CHECK_FLAG else 0)
        raw = self._read_at(start, size)
        data = raw if header & _META_UNCOMPRESSED else self.decompress(raw, METADATA_SIZE)
        self._meta_total += len(data)
        if self._meta_total > self.limits.max_metadata_bytes:
            raise SquashfsLimitError("metadata exceeds the reader's limit")
        self._meta_cache[pos] = (data, start + size)
        return self._meta_cache[pos]

    def cursor(self, table_start: int, block: int, offset: int) -> _Cursor:
        return _Cursor(self, table_start + block, offset)

    # inodes
    def inode(self, ref: int) -> Inode:
        """Read the inode at reference ``ref`` (metadata block << 16 | offset)."""
        cur = self.cursor(self.sb.inode_table_start, ref >> 16, ref & 0xFFFF)
        return self._inode_v3(cur) if self._v3 else self._inode_v4(cur)

    def _inode_v4(self, cur: _Cursor) -> Inode:
        e = self._e
        kind_id, mode = struct.unpack(e + "HH12x", cur.read(16))
        if kind_id in (1, 8):
            if kind_id == 1:
                start, _nlink, size, off, _parent = struct.unpack(e + "IIHHI", cur.read(16))
            else:
                _nlink, size, start, _parent, _icount, off, _x = struct.unpack(e + "IIIIHHI", cur.read(24))
            return Inode("dir", mode, file_size=size, dir_block=start, dir_offset=off)
        if kind_id in (2, 9):
            if kind_id == 2:
                start, frag, foff, size = struct.unpack(e + "IIII", cur.read(16))
            else:
                start, size, _sparse, _nlink, frag, foff, _x = struct.unpack(e + "QQQIIII", cur.read(40))
            return self._file_inode(cur, mode, start, frag, foff, size)
        if kind_id in (3, 10):
            _nlink, size = struct.unpack(e + "II", cur.read(8))
            if size > 65536:
                raise SquashfsError("symlink target too long")
            return Inode("symlink", mode, target=cur.read(size))
        return self._special(kind_id, mode)

    def _inode_v3(self, cur: _Cursor) -> Inode:
        big = self._e == ">"
        kind_id, mode, _uid, _gid = _bitfields(cur.read(4), (4, 12, 8, 8), big)
        cur.read(8)  # mtime, inode number
        if kind_id == 1:
            _nlink, size, off, start, _parent = _bitfields(cur.read(16), (32, 19, 13, 32, 32), big)
            return Inode("dir", mode, file_size=size, dir_block=start, dir_offset=off)
        if kind_id == 8:
            _nlink, size, off, start, _icount, _parent = _bitfields(
                cur.read(19), (32, 27, 13, 32, 16, 32), big)
            return Inode("dir", mode, file_size=size, dir_block=start, dir_offset=off)
        if kind_id == 2:
            start, frag, foff, size = _bitfields(cur.read(20), (64, 32, 32, 32), big)
            return self._file_inode(cur, mode, start, frag, foff, size)
        if kind_id == 9:
            _nlink, start, frag, foff, size = _bitfields(cur.read(28), (32, 64, 32, 32, 64), big)
            return self._file_inode(cur, mode, start, frag, foff, size)
        if kind_id == 3:
            _nlink, size = _bitfields(cur.read(6), (32, 16), big)
            return Inode("symlink", mode, target=cur.read(size))
        return self._special(kind_id, mode)

    def _special(self, kind_id: int, mode: int) -> Inode:
        kinds = {4: "blockdev", 5: "chardev", 6: "fifo", 7: "socket",
                 11: "blockdev", 12: "chardev", 13: "fifo", 14: "socket"}
        if kind_id not in kinds or (self._v3 and kind_id > 9):
            raise SquashfsError(f"unknown inode type {kind_id}")
        return Inode(kinds[kind_id], mode)

    def _file_inode(self, cur: _Cursor, mode: int, start: int, frag: int, foff: int, size: int) -> Inode:
        if size > self.limits.max_bytes:
            raise SquashfsLimitError(f"file of {size} bytes exceeds the size limit {self.limits.max_bytes}")
        bs = self.sb.block_size
        count = size // bs if frag != _NO_FRAGMENT else -(-size // bs)
        sizes = list(struct.unpack(f"{self._e}{count}I", cur.read(4 * count)))
        return Inode("file", mode, file_size=size, start_block=start, fragment=frag,
                     frag_offset=foff, block_sizes=sizes)

    # directories
    def listdir(self, inode: Inode) -> Iterator[tuple[bytes, int]]:
        """Yield (name, inode reference) for each entry of a directory inode."""
        remaining = inode.file_size - 3
        if remaining <= 0:
            return
        cur = self.cursor(self.sb.directory_table_start, inode.dir_block, inode.dir_offset)
        e, big = self._e, self._e == ">"
        while remaining > 0:
            if self._v3:
                count, start, _ino = _bitfields(cur.read(9), (8, 32, 32), big)
                remaining -= 9
            else:
                count, start, _ino = struct.unpack(e + "III", cur.read(12))
                remaining -= 12
            if count >= 256:
                raise SquashfsError("corrupt directory header")
            for _ in range(count + 1):
                if self._v3:
                    off, _kind, size, _delta = _bitfields(cur.read(5), (13, 3, 8, 16), big)
                    remaining -= 5
                else:
                    off, _delta, _kind, size = struct.unpack(e + "HhHH", cur.read(8))
                    remaining -= 8
                name = cur.read(size + 1)
                remaining -= size + 1
                yield name, (start << 16) | off

    # file data
    def _fragment(self, index: int) -> tuple[int, int]:
        if self._fragments is None:
            self._fragments = self._fragment_table()
        if index >= len(self._fragments):
            raise SquashfsError(f"fragment {index} out of range")
        return self._fragments[index]

    def _fragment_table(self) -> list[tuple[int, int]]:
        count = self.sb.fragments
        if count > 1 << 24:
            raise SquashfsError("implausible fragment count")
        blocks = -(-count * 16 // METADATA_SIZE)
        pointers = struct.unpack(f"{self._e}{blocks}Q", self._read_at(self.sb.fragment_table_start, 8 * blocks))
        raw = b"".join(self.metadata_block(p)[0] for p in pointers)
        return [struct.unpack_from(self._e + "QI4x", raw, 16 * i)[:2] for i in range(min(count, len(raw) // 16))]

    def _data_block(self, pos: int, stored: int, expected: int) -> bytes:
        size = stored & ~_BLOCK_UNCOMPRESSED
        if size > self.sb.block_size + 1024:
            raise SquashfsError("corrupt block size")
        raw = self._read_at(pos, size)
        return raw if stored & _BLOCK_UNCOMPRESSED else self.decompress(raw, expected)

    def read_file(self, inode: Inode) -> Iterator[bytes]:
        """Yield the contents of a regular-file inode block by block."""
        bs, left, pos = self.sb.block_size, inode.file_size, inode.start_block
        for stored in inode.block_sizes:
            want = min(bs, left)
            if stored == 0:  # sparse block
                yield bytes(want)
            else:
                data = self._data_block(pos, stored, bs)
                pos += stored & ~_BLOCK_UNCOMPRESSED
                yield data[:want]
            left -= want
        if left > 0 and inode.fragment != _NO_FRAGMENT:
            start, stored = self._fragment(inode.fragment)
            if self._frag_cache is None or self._frag_cache[0] != start:
                self._frag_cache = (start, self._data_block(start, stored, bs))
            tail = self._frag_cache[1][inode.frag_offset:inode.frag_offset + left]
            if len(tail) != left:
                raise SquashfsError("fragment shorter than the file tail")
            yield tail


class _Cursor:
    """Sequential reader over consecutive metadata blocks."""

    def __init__(self, image: SquashfsImage, block_pos: int, offset: int) -> None:
        self._image = image
        self._data, self._next = image.metadata_block(block_pos)
        self._off = offset

    def read(self, size: int) -> bytes:
        parts = []
        while size > 0:
            if self._off >= len(self._data):
                self._off -= len(self._data)
                self._data, self._next = self._image.metadata_block(self._next)
                continue
            chunk = self._data[self._off:self._off + size]
            parts.append(chunk)
            self._off += len(chunk)
            size -= len(chunk)
        return b"".join(parts)


# --- extraction ---------------------------------------------------------------------------


def _safe_name(raw: bytes) -> str | None:
    name = os.fsdecode(raw)
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        return None
    return name


class _Extractor:
    def __init__(self, image: SquashfsImage, dest: Path) -> None:
        self.image = image
        self.dest = dest
        sb = image.sb
        self.stats = ExtractStats(f"{sb.major}.{sb.minor}", sb.compression)
        self._written: dict[int, Path] = {}
        self._open_dirs: set[int] = set()

    def run(self) -> ExtractStats:
        root = self.image.inode(self.image.sb.root_inode)
        if root.kind != "dir":
            raise SquashfsError("root inode is not a directory")
        self.dest.mkdir(parents=True, exist_ok=True)
        self._walk(root, self.image.sb.root_inode, self.dest, 0)
        return self.stats

    def _count(self) -> None:
        if self.stats.files + self.stats.dirs + self.stats.symlinks > self.image.limits.max_files:
            raise SquashfsLimitError(f"file count limit {self.image.limits.max_files} reached")

    def _walk(self, inode: Inode, ref: int, path: Path, depth: int) -> None:
        if depth > self.image.limits.max_dir_depth:
            raise SquashfsLimitError("directory nesting limit reached")
        if ref in self._open_dirs:
            raise SquashfsError("directory loop")
        self._open_dirs.add(ref)
        for raw, child_ref in self.image.listdir(inode):
            name = _safe_name(raw)
            if name is None:
                self.stats.skipped.append(f"unsafe name {raw!r} in {path.relative_to(self.dest)}")
                continue
            self._entry(self.image.inode(child_ref), child_ref, path / name, depth)
        self._open_dirs.discard(ref)

    def _entry(self, inode: Inode, ref: int, target: Path, depth: int) -> None:
        rel = str(target.relative_to(self.dest))
        if target.exists() or target.is_symlink():
            self.stats.skipped.append(f"duplicate entry {rel}")
            return
        if inode.kind == "dir":
            target.mkdir()
            self.stats.dirs += 1
            self._count()
            self._walk(inode, ref, target, depth + 1)
            target.chmod((inode.mode & 0o7777) | 0o700)
        elif inode.kind == "file":
            self._file(inode, ref, target)
        elif inode.kind == "symlink":
            os.symlink(os.fsdecode(inode.target), target)
            self.stats.symlinks += 1
            self._count()
        else:
            self.stats.skipped.append(f"{inode.kind} {rel}")

    def _file(self, inode: Inode, ref: int, target: Path) -> None:
        first = self._written.get(ref)
        if first is not None:
            os.link(first, target)
            self.stats.hardlinks += 1
            return
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in self.image.read_file(inode):
                self.stats.bytes_written += len(chunk)
                if self.stats.bytes_written > self.image.limits.max_bytes:
                    raise SquashfsLimitError(f"size limit {self.image.limits.max_bytes} bytes reached")
                out.write(chunk)
        os.chmod(target, inode.mode & 0o7777)
        self._written[ref] = target
        self.stats.files += 1
        self._count()


def extract(image: Path, dest: Path, offset: int = 0, limits: ReadLimits = ReadLimits()) -> ExtractStats:
    """Extract the squashfs filesystem at ``offset`` of ``image`` into ``dest``.

    Raises SquashfsError (or SquashfsLimitError) when the image cannot be read or a limit is
    reached; whatever was written before that stays in ``dest``.
    """
    with image.open("rb") as fh:
        try:
            reader = SquashfsImage(fh, offset, limits)
            stats = _Extractor(reader, dest).run()
        except struct.error as exc:
            raise SquashfsError(f"truncated squashfs structure: {exc}") from exc
        except RecursionError as exc:
            raise SquashfsError("directory tree too deep") from exc
    log.debug("squashfs %s (%s) extracted: %d files", stats.version, stats.compression, stats.files)
    return stats
