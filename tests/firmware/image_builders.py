"""Builders for firmware test images: real filesystems from Debian tools, vendor variants from
a small test-only squashfs writer, and a set of malicious images.

Every builder takes a source (directory or bytes) and a destination path and returns the
destination. They are fast: nothing here takes more than about a second.
"""

from __future__ import annotations

import binascii
import gzip
import io
import lzma
import os
import shutil
import stat
import struct
import subprocess
import tarfile
import time
import zipfile
import zlib
from pathlib import Path

# --- a small root filesystem ------------------------------------------------------------------


def make_rootfs(root: Path, *, banner: str = "iotmark test rootfs") -> Path:
    """Create a tiny Linux-like root filesystem (etc, bin, sbin, usr, lib, a few links)."""
    for sub in ("bin", "sbin", "etc/init.d", "usr/bin", "lib", "var", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\n")
    (root / "etc/shadow").write_text("root:$1$abcdefgh$0123456789abcdefghijk.:19000:0:99999:7:::\n")
    (root / "etc/banner").write_text(banner + "\n")
    (root / "etc/init.d/rcS").write_text("#!/bin/sh\ntelnetd -l /bin/sh\n")
    (root / "etc/init.d/rcS").chmod(0o755)
    # a multi-block file with a tail, so data blocks and fragments are both exercised
    (root / "usr/bin/blob.bin").write_bytes(bytes(range(256)) * 70 + b"tail-bytes")
    (root / "bin/busybox").write_bytes(b"\x7fELF" + b"BusyBox v1.19.4 (2012-02-04) multi-call binary" + bytes(64))
    (root / "bin/busybox").chmod(0o755)
    os.symlink("busybox", root / "bin/sh")
    os.symlink("/bin/busybox", root / "sbin/init")
    (root / "lib/empty").write_bytes(b"")
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """Map each path under root to a short description (file bytes, link target, 'dir')."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "-> " + os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
            else:
                out[rel] = binascii.crc32(path.read_bytes()).to_bytes(4, "big").hex() + f"/{st.st_size}"
    return out


# --- Debian tools ---------------------------------------------------------------------------------


def _run(*cmd: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, input=stdin, check=True,
                          capture_output=True).stdout


def build_squashfs(src: Path, dst: Path, comp: str = "xz", block_size: int = 131072) -> Path:
    """Build a standard little-endian squashfs 4.0 image with mksquashfs."""
    _run("mksquashfs", src, dst, "-noappend", "-all-root", "-quiet", "-no-progress",
         "-comp", comp, "-b", str(block_size), "-mkfs-time", "0")
    return dst


def build_uimage(payload: Path, dst: Path, name: str = "iotmark test", arch: str = "mips",
                 compression: str = "none", image_type: str = "firmware") -> Path:
    """Wrap payload in a U-Boot legacy header with mkimage."""
    _run("mkimage", "-A", arch, "-O", "linux", "-T", image_type, "-C", compression,
         "-a", "0x80000000", "-e", "0x80000000", "-n", name, "-d", payload, dst)
    return dst


def lzma_alone(data: bytes) -> bytes:
    """LZMA-alone (.lzma) stream, the format router kernels in uImages use."""
    return lzma.compress(data, format=lzma.FORMAT_ALONE)


def build_kernel_like(dst: Path, version: str = "2.6.31") -> Path:
    """A stand-in kernel: bytes with a Linux version banner, LZMA-compressed."""
    banner = f"Linux version {version} (builder@host) (gcc version 4.3.3) #1 Mon Jan 1 00:00:00 UTC 2024\n"
    # symbol-table-like text: compresses well, but not so well that unblob calls it implausible
    symbols = "".join(f"{(i * 2654435761) % 2**32:08x} T sym_{i:05d}\n" for i in range(3000))
    dst.write_bytes(lzma_alone(symbols.encode() + banner.encode() + bytes(4096)))
    return dst


def build_router_image(rootfs: Path, dst: Path, work: Path, *, name: str = "TL-WR841N v9",
                       rootfs_builder: str = "mksquashfs", comp: str = "xz") -> Path:
    """uImage(kernel: LZMA) followed by a squashfs rootfs, padded the way flash layouts are."""
    work.mkdir(parents=True, exist_ok=True)
    kernel = build_uimage(build_kernel_like(work / "vmlinux.lzma"), work / "kernel.uimg",
                          name=name, image_type="kernel", compression="lzma")
    fs = work / "rootfs.sqfs"
    if rootfs_builder == "mksquashfs":
        build_squashfs(rootfs, fs, comp=comp)
    else:
        write_squashfs(rootfs, fs, comp=comp, version=4 if rootfs_builder == "v4" else 3,
                       big_endian=True)
    blob = kernel.read_bytes()
    blob += b"\xff" * (-len(blob) % 0x10000)
    dst.write_bytes(blob + fs.read_bytes())
    return dst


def build_trx_like(parts: list[bytes], dst: Path) -> Path:
    """A Broadcom TRX v1 container (little-endian header, CRC32 without final xor)."""
    header_len = 28
    offsets, body = [], b""
    for part in parts[:3]:
        offsets.append(header_len + len(body))
        body += part + b"\0" * (-len(part) % 4)
    offsets += [0] * (3 - len(offsets))
    total = header_len + len(body)
    tail = struct.pack("<HH3I", 0, 1, *offsets) + body
    crc = (binascii.crc32(tail) ^ 0xFFFFFFFF) & 0xFFFFFFFF
    dst.write_bytes(b"HDR0" + struct.pack("<II", total, crc) + tail)
    return dst


def build_jffs2(src: Path, dst: Path, big_endian: bool = False) -> Path:
    """JFFS2 image with mkfs.jffs2 (64 KiB erase blocks)."""
    _run("mkfs.jffs2", "-r", src, "-o", dst, "-e", "64KiB", "-b" if big_endian else "-l", "-q")
    return dst


def build_ubi(src: Path, dst: Path, work: Path) -> Path:
    """UBI image holding one UBIFS volume named rootfs (mkfs.ubifs + ubinize)."""
    work.mkdir(parents=True, exist_ok=True)
    ubifs = work / "rootfs.ubifs"
    _run("mkfs.ubifs", "-r", src, "-m", "2048", "-e", "126976", "-c", "256", "-o", ubifs)
    cfg = work / "ubi.cfg"
    cfg.write_text(f"[rootfs]\nmode=ubi\nimage={ubifs}\nvol_id=0\nvol_type=dynamic\n"
                   "vol_name=rootfs\nvol_flags=autoresize\n")
    _run("ubinize", "-o", dst, "-m", "2048", "-p", "128KiB", "-s", "2048", cfg)
    return dst


def build_cpio(src: Path, dst: Path) -> Path:
    """newc cpio archive of src, the initramfs format."""
    names = sorted(str(p.relative_to(src)) for p in src.rglob("*"))
    dst.write_bytes(_run("cpio", "-o", "-H", "newc", "--quiet", cwd=src, stdin="\n".join(names).encode()))
    return dst


def build_ext(src: Path, dst: Path, size_kib: int = 4096) -> Path:
    """ext2 image populated from src with mke2fs -d."""
    _run("mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", src, dst, f"{size_kib}")
    return dst


def build_cramfs(src: Path, dst: Path) -> Path:
    """cramfs image of src (util-linux mkfs.cramfs), as older cameras and set-top boxes ship."""
    _run("mkfs.cramfs", src, dst)
    return dst


def build_erofs(src: Path, dst: Path) -> Path:
    """EROFS image of src (erofs-utils mkfs.erofs, lz4hc), as newer Android-based devices ship."""
    _run("mkfs.erofs", "--quiet", "-zlz4hc", dst, src)
    return dst


def build_tar(src: Path, dst: Path) -> Path:
    """Plain tar of src."""
    with tarfile.open(dst, "w") as tar:
        tar.add(src, arcname=".")
    return dst


def build_zip(src: Path, dst: Path) -> Path:
    """Deflated zip of the regular files in src."""
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            if path.is_file() and not path.is_symlink():
                zf.write(path, str(path.relative_to(src)))
    return dst


# --- a test-only squashfs writer (vendor variants Debian's mksquashfs cannot make) --------------

_BLOCK_UNCOMPRESSED = 1 << 24


def _compress_for(comp: str):
    """Return a block compressor for one of the writer's compression variants."""

    def alone(data: bytes, **opts: int) -> bytes:
        filters = [{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 20, **opts}]
        return lzma.compress(data, format=lzma.FORMAT_ALONE, filters=filters)

    table = {
        "none": lambda d: d,
        "gzip": lambda d: zlib.compress(d, 9),
        "xz": lambda d: lzma.compress(d, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32),
        # lzma-alone with an explicit unknown size, as squashfs-lzma patches wrote it
        "lzma": alone,
        # vendor variant: properties kept, the 8-byte size field dropped
        "lzma-nosize": lambda d: (lambda c: c[:5] + c[13:])(alone(d)),
        # vendor variant: non-default lc/lp/pb carried in the properties byte, no size field
        "lzma-vendor-props": lambda d: (lambda c: c[:5] + c[13:])(alone(d, lc=1, lp=2, pb=2)),
        # vendor variant: bare LZMA stream without any header
        "lzma-raw": lambda d: lzma.compress(d, format=lzma.FORMAT_RAW, filters=[
            {"id": lzma.FILTER_LZMA1, "dict_size": 1 << 20, "lc": 0, "lp": 2, "pb": 0}]),
    }
    return table[comp]


_COMP_IDS = {"gzip": 1, "lzma": 2, "lzma-nosize": 2, "lzma-vendor-props": 2, "lzma-raw": 2,
             "xz": 4, "none": 1}


def _pack_bits(values: list[int], widths: list[int], big: bool) -> bytes:
    """Pack GCC-style bitfields (first field in the most significant bits on big-endian)."""
    total = sum(widths)
    acc, pos = 0, 0
    for value, width in zip(values, widths, strict=True):
        value &= (1 << width) - 1
        acc |= value << (total - pos - width if big else pos)
        pos += width
    return acc.to_bytes(total // 8, "big" if big else "little")


class _MetaWriter:
    """Accumulates a metadata table, emitting compressed 8 KiB blocks as it fills."""

    def __init__(self, compress, e: str) -> None:
        self.compress, self.e = compress, e
        self.out = bytearray()
        self.buf = bytearray()

    def ref(self) -> tuple[int, int]:
        return len(self.out), len(self.buf)

    def write(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= 8192:
            self._emit(bytes(self.buf[:8192]))
            del self.buf[:8192]

    def _emit(self, block: bytes) -> None:
        packed = self.compress(block)
        if len(packed) < len(block):
            self.out += struct.pack(self.e + "H", len(packed)) + packed
        else:
            self.out += struct.pack(self.e + "H", len(block) | 0x8000) + block

    def finish(self) -> bytes:
        if self.buf:
            self._emit(bytes(self.buf))
            self.buf.clear()
        return bytes(self.out)


class _SquashfsWriter:
    def __init__(self, version: int, big_endian: bool, comp: str, block_size: int) -> None:
        self.v3 = version == 3
        self.big = big_endian
        self.e = ">" if big_endian else "<"
        self.compress = _compress_for(comp)
        self.comp = comp
        self.bs = block_size
        self.data = bytearray(b"\0" * 128)  # superblock placeholder; data blocks follow
        self.inodes = _MetaWriter(self.compress, self.e)
        self.dirs = _MetaWriter(self.compress, self.e)
        self.frag_entries: list[tuple[int, int]] = []
        self.frag_buf = bytearray()
        self.count = 0

    # data
    def _block(self, chunk: bytes) -> int:
        packed = self.compress(chunk)
        if len(packed) < len(chunk):
            self.data += packed
            return len(packed)
        self.data += chunk
        return len(chunk) | _BLOCK_UNCOMPRESSED

    def _flush_fragment(self) -> None:
        if self.frag_buf:
            start = len(self.data)
            size = self._block(bytes(self.frag_buf))
            self.frag_entries.append((start, size))
            self.frag_buf.clear()

    def _file_data(self, content: bytes) -> tuple[int, list[int], int, int]:
        start = len(self.data)
        full = len(content) // self.bs
        sizes = [self._block(content[i * self.bs:(i + 1) * self.bs]) for i in range(full)]
        tail = content[full * self.bs:]
        if not tail:
            return start, sizes, 0xFFFFFFFF, 0
        if len(self.frag_buf) + len(tail) > self.bs:
            self._flush_fragment()
        offset = len(self.frag_buf)
        self.frag_buf += tail
        return start, sizes, len(self.frag_entries), offset

    # inodes
    def _base(self, kind: int, mode: int) -> bytes:
        self.count += 1
        if self.v3:
            return _pack_bits([kind, mode, 0, 0], [4, 12, 8, 8], self.big) + struct.pack(self.e + "iI", 0, self.count)
        return struct.pack(self.e + "HHHHII", kind, mode, 0, 0, 0, self.count)

    def _emit_inode(self, raw: bytes) -> tuple[int, int]:
        ref = self.inodes.ref()
        self.inodes.write(raw)
        return ref

    def file(self, content: bytes, mode: int) -> tuple[int, int, int]:
        start, sizes, frag, off = self._file_data(content)
        blocks = struct.pack(f"{self.e}{len(sizes)}I", *sizes)
        if self.v3:
            body = _pack_bits([start, frag, off, len(content)], [64, 32, 32, 32], self.big)
        else:
            body = struct.pack(self.e + "IIII", start, frag, off, len(content))
        return (*self._emit_inode(self._base(2, mode) + body + blocks), 2)

    def symlink(self, target: bytes) -> tuple[int, int, int]:
        if self.v3:
            body = _pack_bits([1, len(target)], [32, 16], self.big)
        else:
            body = struct.pack(self.e + "II", 1, len(target))
        return (*self._emit_inode(self._base(3, 0o777) + body + target), 3)

    def chardev(self, major: int, minor: int) -> tuple[int, int, int]:
        if self.v3:
            body = _pack_bits([1, (major << 8) | minor], [32, 16], self.big)
        else:
            body = struct.pack(self.e + "II", 1, (major << 8) | minor)
        return (*self._emit_inode(self._base(5, 0o600) + body), 5)

    def directory(self, entries: list[tuple[bytes, tuple[int, int, int]]], mode: int) -> tuple[int, int, int]:
        dir_block, dir_off = self.dirs.ref()
        listing = bytearray()
        entries = sorted(entries)
        i = 0
        while i < len(entries):
            block, j = entries[i][1][0], i
            # one header covers at most 256 entries whose inodes share a metadata block
            while j < len(entries) and j - i < 256 and entries[j][1][0] == block:
                j += 1
            group = entries[i:j]
            if self.v3:
                listing += _pack_bits([len(group) - 1, block, 0], [8, 32, 32], self.big)
            else:
                listing += struct.pack(self.e + "III", len(group) - 1, block, 0)
            for name, (_blk, off, kind) in group:
                if self.v3:
                    listing += _pack_bits([off, kind, len(name) - 1, 0], [13, 3, 8, 16], self.big)
                else:
                    listing += struct.pack(self.e + "HhHH", off, 0, kind, len(name) - 1)
                listing += name
            i += len(group)
        self.dirs.write(bytes(listing))
        size = len(listing) + 3
        if self.v3:
            body = _pack_bits([2, size, dir_off, dir_block, 0], [32, 19, 13, 32, 32], self.big)
        else:
            body = struct.pack(self.e + "IIHHI", dir_block, 2, size, dir_off, 0)
        return (*self._emit_inode(self._base(1, mode) + body), 1)

    def add_tree(self, path: Path, extra: dict[str, tuple[int, int]]) -> tuple[int, int, int]:
        entries = []
        for child in sorted(path.iterdir()):
            st = child.lstat()
            if stat.S_ISLNK(st.st_mode):
                ref = self.symlink(os.fsencode(os.readlink(child)))
            elif stat.S_ISDIR(st.st_mode):
                ref = self.add_tree(child, {})
            else:
                ref = self.file(child.read_bytes(), st.st_mode & 0o7777)
            entries.append((os.fsencode(child.name), ref))
        for name, (major, minor) in extra.items():
            entries.append((name.encode(), self.chardev(major, minor)))
        return self.directory(entries, 0o755)

    def finish(self, root: tuple[int, int, int]) -> bytes:
        self._flush_fragment()
        e = self.e
        inode_start = len(self.data)
        self.data += self.inodes.finish()
        dir_start = len(self.data)
        self.data += self.dirs.finish()
        frag_meta = _MetaWriter(self.compress, e)
        for start, size in self.frag_entries:
            frag_meta.write(struct.pack(e + "QII", start, size, 0))
        frag_blocks_at = len(self.data)
        raw_frag = frag_meta.finish()
        self.data += raw_frag
        frag_index = len(self.data)
        self.data += self._index(frag_blocks_at, raw_frag)
        root_ref = (root[0] << 16) | root[1]
        if self.v3:
            uid_start = len(self.data)
            self.data += struct.pack(e + "II", 0, 0)  # one uid, one gid
            sb = self._superblock_v3(root_ref, inode_start, dir_start, frag_index, uid_start)
        else:
            id_meta = _MetaWriter(self.compress, e)
            id_meta.write(struct.pack(e + "I", 0))
            id_blocks_at = len(self.data)
            raw_ids = id_meta.finish()
            self.data += raw_ids
            id_index = len(self.data)
            self.data += self._index(id_blocks_at, raw_ids)
            sb = self._superblock_v4(root_ref, inode_start, dir_start, frag_index, id_index)
        self.data[:len(sb)] = sb
        self.data += b"\0" * (-len(self.data) % 4096)
        return bytes(self.data)

    def _index(self, at: int, raw: bytes) -> bytes:
        pointers, pos = [], 0
        while pos < len(raw):
            pointers.append(at + pos)
            (header,) = struct.unpack_from(self.e + "H", raw, pos)
            pos += 2 + (header & 0x7FFF)
        return struct.pack(f"{self.e}{len(pointers)}Q", *pointers)

    def _superblock_v4(self, root: int, inodes: int, dirs: int, frags: int, ids: int) -> bytes:
        magic = b"sqsh" if self.big else b"hsqs"
        return magic + struct.pack(
            self.e + "IIIIHHHHHHQQQQQQQQ", self.count, 0, self.bs, len(self.frag_entries),
            _COMP_IDS[self.comp], self.bs.bit_length() - 1, 0x0200, 1, 4, 0, root, len(self.data),
            ids, 0xFFFFFFFFFFFFFFFF, inodes, dirs, frags, 0xFFFFFFFFFFFFFFFF)

    def _superblock_v3(self, root: int, inodes: int, dirs: int, frags: int, uids: int) -> bytes:
        magic = b"sqsh" if self.big else b"hsqs"
        used = len(self.data)
        return magic + struct.pack(
            self.e + "IIIIII" + "HHHHBBBiQII" + "IQQQQQQQ",
            self.count, used, uids, uids + 4, inodes, dirs,
            3, 1, self.bs & 0xFFFF, self.bs.bit_length() - 1, 0, 1, 1, 0, root, self.bs, len(self.frag_entries),
            frags, used, uids, uids + 4, inodes, dirs, frags, 0xFFFFFFFFFFFFFFFF)


def write_squashfs(src: Path, dst: Path, *, version: int = 4, big_endian: bool = False,
                   comp: str = "gzip", block_size: int = 4096,
                   char_devices: dict[str, tuple[int, int]] | None = None) -> Path:
    """Write a squashfs v3/v4 image of src in either byte order with vendor compression variants.

    comp is one of none, gzip, xz, lzma, lzma-nosize, lzma-vendor-props, lzma-raw.
    char_devices adds device nodes to the root directory (name -> (major, minor)).
    """
    writer = _SquashfsWriter(version, big_endian, comp, block_size)
    root = writer.add_tree(src, char_devices or {})
    dst.write_bytes(writer.finish(root))
    return dst


# --- malicious images -----------------------------------------------------------------------------


def _write_tar(dst: Path, entries: list[tuple[str, bytes, dict]]) -> Path:
    """Write a GNU tar from (name, data, TarInfo attributes) without any path checks."""
    with tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, attrs in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            for key, value in attrs.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return dst


def _climb(target: Path) -> str:
    return "../" * 12 + str(target).lstrip("/")


def build_tar_traversal(dst: Path, absolute_target: Path) -> Path:
    """tar whose members climb out (../) into absolute_target and name it absolutely."""
    return _write_tar(dst, [
        ("ok.txt", b"fine\n", {}),
        (_climb(absolute_target / "climbed-tar.txt"), b"escaped\n", {}),
        (str(absolute_target / "absolute-tar.txt"), b"absolute\n", {}),
    ])


def build_tar_symlink_escape(dst: Path, outside_dir: Path) -> Path:
    """tar with an absolute and a climbing symlink, then files written through both."""
    return _write_tar(dst, [
        ("abs-link", b"", {"type": tarfile.SYMTYPE, "linkname": str(outside_dir)}),
        ("abs-link/through-abs.txt", b"pwned\n", {}),
        ("up-link", b"", {"type": tarfile.SYMTYPE, "linkname": _climb(outside_dir)}),
        ("up-link/through-up.txt", b"pwned\n", {}),
    ])


def build_tar_hardlink_escape(dst: Path, outside_file: Path) -> Path:
    """tar that hard-links to a file outside, then writes through the link."""
    return _write_tar(dst, [
        ("hl", b"", {"type": tarfile.LNKTYPE, "linkname": str(outside_file)}),
        ("hl", b"overwritten through hard link\n", {}),
        ("hl2", b"", {"type": tarfile.LNKTYPE, "linkname": _climb(outside_file)}),
    ])


def _cpio_newc(name: str, data: bytes, mode: int = 0o100644) -> bytes:
    encoded = name.encode() + b"\0"
    header = "070701" + "".join(f"{v:08X}" for v in (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0))
    out = header.encode() + encoded
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def build_cpio_traversal(dst: Path, absolute_target: Path) -> Path:
    """newc cpio with ../ and absolute member names."""
    body = (_cpio_newc("ok.txt", b"fine\n") + _cpio_newc(_climb(absolute_target / "climbed-cpio.txt"), b"escaped\n")
            + _cpio_newc(str(absolute_target / "absolute-cpio.txt"), b"absolute\n")
            + _cpio_newc("TRAILER!!!", b"", mode=0))
    dst.write_bytes(body + b"\0" * (-len(body) % 512))
    return dst


def build_zip_traversal(dst: Path, absolute_target: Path) -> Path:
    """zip with ../ and absolute member names."""
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("ok.txt", "fine\n")
        zf.writestr(_climb(absolute_target / "climbed-zip.txt"), "escaped\n")
        zf.writestr(str(absolute_target / "absolute-zip.txt"), "absolute\n")
    return dst


def _zeros_member(size: int, compressor) -> bytes:
    return compressor(bytes(size))


def build_gzip_bomb(dst: Path, total: int = 1024**3, member: int = 16 * 1024**2) -> Path:
    """Concatenated gzip members of zeros: a few MiB that expand to ``total`` bytes."""
    one = _zeros_member(member, lambda d: gzip.compress(d, 9, mtime=0))
    dst.write_bytes(one * (total // member))
    return dst


def build_xz_bomb(dst: Path, total: int = 1024**3, member: int = 16 * 1024**2) -> Path:
    """Concatenated xz streams of zeros."""
    one = _zeros_member(member, lambda d: lzma.compress(d, preset=1))
    dst.write_bytes(one * (total // member))
    return dst


def build_zip_bomb(dst: Path, total: int = 1024**3) -> Path:
    """A zip holding one member of ``total`` zero bytes."""
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, zf.open("zeros.bin", "w", force_zip64=True) as out:
        chunk = bytes(8 * 1024**2)
        for _ in range(total // len(chunk)):
            out.write(chunk)
    return dst


def build_nested_gzip(dst: Path, depth: int = 10_000) -> Path:
    """``depth`` gzip layers around a short text (stored deflate keeps building fast)."""
    data = b"innermost\n"
    for _ in range(depth):
        data = gzip.compress(data, compresslevel=0, mtime=0)
    dst.write_bytes(data)
    return dst


def build_truncated(src_image: Path, dst: Path, keep: float = 0.5) -> Path:
    """Copy the first ``keep`` fraction of an image."""
    data = src_image.read_bytes()
    dst.write_bytes(data[:max(1, int(len(data) * keep))])
    return dst


def corrupt_uimage_crc(src_image: Path, dst: Path) -> Path:
    """Copy a uImage and flip a payload byte so its data CRC no longer matches."""
    data = bytearray(src_image.read_bytes())
    data[64 + 16] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def copy_tree(src: Path, dst: Path) -> Path:
    """Copy a directory tree keeping symlinks as links."""
    shutil.copytree(src, dst, symlinks=True)
    return dst
