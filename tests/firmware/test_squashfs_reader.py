"""The pure-Python squashfs reader, on images made by mksquashfs and by the test-only writer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from image_builders import build_squashfs, build_truncated, make_rootfs, tree_digest, write_squashfs

from iotmark.collect.firmware import squashfs


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rootfs(tmp_path_factory.mktemp("sq") / "root")


@pytest.mark.parametrize("comp", ["gzip", "xz", "lzma", "lzo", "lz4", "zstd"])
def test_reads_mksquashfs_v4_little_endian(rootfs: Path, tmp_path: Path, comp: str) -> None:
    image = build_squashfs(rootfs, tmp_path / "fs.sqfs", comp=comp, block_size=4096)
    stats = squashfs.extract(image, tmp_path / "out")
    assert tree_digest(tmp_path / "out") == tree_digest(rootfs)
    assert (stats.version, stats.compression, stats.files, stats.symlinks) == ("4.0", comp, 7, 2)


VARIANTS = [(4, big, comp) for big in (False, True)
            for comp in ("gzip", "xz", "lzma", "lzma-nosize", "lzma-vendor-props", "lzma-raw", "none")]
VARIANTS += [(3, big, comp) for big in (False, True)
             for comp in ("gzip", "lzma", "lzma-nosize", "lzma-vendor-props", "lzma-raw", "none")]


@pytest.mark.parametrize(("version", "big_endian", "comp"), VARIANTS)
def test_reads_vendor_variants(rootfs: Path, tmp_path: Path, version: int, big_endian: bool, comp: str) -> None:
    image = write_squashfs(rootfs, tmp_path / "fs.sqfs", version=version, big_endian=big_endian, comp=comp)
    stats = squashfs.extract(image, tmp_path / "out")
    assert tree_digest(tmp_path / "out") == tree_digest(rootfs)
    assert stats.version == f"{version}.{0 if version == 4 else 1}"


@pytest.mark.parametrize(("version", "big_endian"), [(4, False), (3, False), (3, True)])
def test_test_writer_output_is_accepted_by_unsquashfs(rootfs: Path, tmp_path: Path, version: int,
                                                      big_endian: bool) -> None:
    # Debian's unsquashfs reading the writer's gzip images shows the writer follows the format.
    image = write_squashfs(rootfs, tmp_path / "fs.sqfs", version=version, big_endian=big_endian)
    subprocess.run(["unsquashfs", "-n", "-d", str(tmp_path / "out"), str(image)], check=True, capture_output=True)
    assert tree_digest(tmp_path / "out") == tree_digest(rootfs)


@pytest.mark.parametrize(("big_endian", "comp"), [(True, "gzip"), (False, "lzma-nosize"), (False, "lzma-raw")])
def test_unsquashfs_rejects_what_the_reader_is_for(rootfs: Path, tmp_path: Path, big_endian: bool, comp: str) -> None:
    image = write_squashfs(rootfs, tmp_path / "fs.sqfs", big_endian=big_endian, comp=comp)
    proc = subprocess.run(["unsquashfs", "-n", "-d", str(tmp_path / "out"), str(image)], capture_output=True)
    assert proc.returncode == 1


def test_device_nodes_are_skipped_and_listed(rootfs: Path, tmp_path: Path) -> None:
    image = write_squashfs(rootfs, tmp_path / "fs.sqfs", char_devices={"console": (5, 1)})
    stats = squashfs.extract(image, tmp_path / "out")
    assert stats.skipped == ["chardev console"]
    assert not (tmp_path / "out" / "console").exists()


def test_name_with_slash_is_not_written(rootfs: Path, tmp_path: Path) -> None:
    image = write_squashfs(rootfs, tmp_path / "fs.sqfs", comp="none")
    data = image.read_bytes()
    assert data.count(b"banner") == 1  # the directory entry, stored uncompressed
    image.write_bytes(data.replace(b"banner", b"../../"))
    stats = squashfs.extract(image, tmp_path / "out")
    assert stats.skipped == ["unsafe name b'../../' in etc"]
    assert not (tmp_path / "out" / "etc" / "banner").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fs.sqfs", "out"]


def test_truncated_image_raises_squashfs_error(rootfs: Path, tmp_path: Path) -> None:
    image = build_truncated(write_squashfs(rootfs, tmp_path / "fs.sqfs"), tmp_path / "cut.sqfs", keep=0.3)
    with pytest.raises(squashfs.SquashfsError, match="truncated|outside"):
        squashfs.extract(image, tmp_path / "out")


def test_file_count_limit_stops_extraction(rootfs: Path, tmp_path: Path) -> None:
    image = write_squashfs(rootfs, tmp_path / "fs.sqfs")
    with pytest.raises(squashfs.SquashfsLimitError, match="file count limit 3 reached"):
        squashfs.extract(image, tmp_path / "out", limits=squashfs.ReadLimits(max_files=3))


def test_size_limit_stops_extraction(rootfs: Path, tmp_path: Path) -> None:
    image = write_squashfs(rootfs, tmp_path / "fs.sqfs")
    with pytest.raises(squashfs.SquashfsLimitError, match="file of 17930 bytes exceeds the size limit 1000"):
        squashfs.extract(image, tmp_path / "out", limits=squashfs.ReadLimits(max_bytes=1000))


def test_not_squashfs_is_rejected(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hsqs" + bytes(200))
    with pytest.raises(squashfs.SquashfsError, match="unsupported squashfs version 0"):
        squashfs.extract(junk, tmp_path / "out")
