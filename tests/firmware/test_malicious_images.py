"""Hostile images: each yields parts or a clean extraction, writes nothing outside the work
folder, stays within its limits and never raises."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from image_builders import (
    build_cpio_traversal,
    build_gzip_bomb,
    build_nested_gzip,
    build_router_image,
    build_squashfs,
    build_tar_hardlink_escape,
    build_tar_symlink_escape,
    build_tar_traversal,
    build_truncated,
    build_xz_bomb,
    build_zip_bomb,
    build_zip_traversal,
    corrupt_uimage_crc,
    make_rootfs,
)

from iotmark.collect.firmware.unpack import Extraction, Limits, extract

LIMITS = Limits(max_total_bytes=64 * 1024**2, timeout_s=120)


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    """A directory next to the work folder that no image may change."""
    directory = tmp_path / "sentinel"
    directory.mkdir()
    (directory / "original.txt").write_text("keep\n")
    return directory


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(directory.rglob("*"))}


def _extract_untouched(image: Path, tmp_path: Path, sentinel: Path, limits: Limits = LIMITS) -> Extraction:
    before = _snapshot(sentinel)
    outside = sorted(p.name for p in tmp_path.iterdir())
    ex = extract(image, tmp_path / "work", limits)
    assert _snapshot(sentinel) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*outside, "work"])
    return ex


def _files_named(root: Path, name: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(name))


def test_tar_path_traversal_stays_inside(tmp_path: Path, sentinel: Path) -> None:
    ex = _extract_untouched(build_tar_traversal(tmp_path / "t.tar", sentinel), tmp_path, sentinel)
    assert [(p.format, p.status) for p in ex.parts] == [("tar", "extracted")]
    assert "Traversal attempt" in ex.parts[0].reason
    assert _files_named(ex.work_dir, "climbed-tar.txt") == []
    assert len(_files_named(ex.work_dir, "ok.txt")) == 1


def test_cpio_path_traversal_stays_inside(tmp_path: Path, sentinel: Path) -> None:
    ex = _extract_untouched(build_cpio_traversal(tmp_path / "c.cpio", sentinel), tmp_path, sentinel)
    assert [(p.format, p.status) for p in ex.parts] == [("cpio", "extracted")]
    assert len(_files_named(ex.work_dir, "ok.txt")) == 1


def test_zip_path_traversal_stays_inside(tmp_path: Path, sentinel: Path) -> None:
    ex = _extract_untouched(build_zip_traversal(tmp_path / "z.zip", sentinel), tmp_path, sentinel)
    assert [(p.format, p.status) for p in ex.parts] == [("zip", "extracted")]
    assert len(_files_named(ex.work_dir, "ok.txt")) == 1


def test_symlink_then_write_through_it_stays_inside(tmp_path: Path, sentinel: Path) -> None:
    ex = _extract_untouched(build_tar_symlink_escape(tmp_path / "s.tar", sentinel), tmp_path, sentinel)
    assert [(p.format, p.status) for p in ex.parts] == [("tar", "extracted")]
    for link in ex.work_dir.rglob("*-link"):
        assert not os.path.realpath(link).startswith(str(sentinel))


def test_hard_link_to_outside_is_not_made(tmp_path: Path, sentinel: Path) -> None:
    ex = _extract_untouched(build_tar_hardlink_escape(tmp_path / "h.tar", sentinel / "original.txt"),
                            tmp_path, sentinel)
    assert [(p.format, p.status) for p in ex.parts] == [("tar", "extracted")]
    assert all(p.stat().st_nlink == 1 for p in ex.work_dir.rglob("hl*") if p.is_file())


@pytest.mark.parametrize(("builder", "fmt"), [(build_gzip_bomb, "gzip"), (build_xz_bomb, "xz"),
                                              (build_zip_bomb, "zip")])
def test_decompression_bomb_stops_at_the_size_limit(tmp_path: Path, sentinel: Path, builder, fmt: str) -> None:
    limits = Limits(max_total_bytes=32 * 1024**2, timeout_s=120)
    ex = _extract_untouched(builder(tmp_path / "bomb"), tmp_path, sentinel, limits)
    assert [(p.format, p.status) for p in ex.parts] == [(fmt, "skipped_limit")]
    assert ex.parts[0].reason == "7z stopped: file size limit reached"
    assert ex.limits_hit == ["7z stopped: file size limit reached"]
    assert int(ex.metadata["extracted_bytes"]) <= limits.max_total_bytes


def test_ten_thousand_nested_archives_stop_at_the_depth_limit(tmp_path: Path, sentinel: Path) -> None:
    ex = _extract_untouched(build_nested_gzip(tmp_path / "nested.gz"), tmp_path, sentinel)
    assert [p.status for p in ex.parts] == ["extracted"] * 8 + ["skipped_limit"]
    assert ex.parts[-1].reason == "nested deeper than 8 levels; not searched"
    assert ex.limits_hit == ["nesting depth limit 8 reached"]


def test_timeout_kills_the_extraction(tmp_path: Path, sentinel: Path) -> None:
    limits = Limits(max_total_bytes=256 * 1024**2, timeout_s=0.5)
    ex = _extract_untouched(build_gzip_bomb(tmp_path / "bomb.gz"), tmp_path, sentinel, limits)
    assert ex.limits_hit == ["timeout of 0.5 s reached"]
    assert [(p.path, p.status) for p in ex.parts][-1] == ("image", "skipped_limit")


@pytest.fixture
def router_image(tmp_path: Path) -> Path:
    rootfs = make_rootfs(tmp_path / "root")
    return build_router_image(rootfs, tmp_path / "router.bin", tmp_path / "build")


def test_corrupt_uimage_crc_is_an_error_part(tmp_path: Path, sentinel: Path, router_image: Path) -> None:
    ex = _extract_untouched(corrupt_uimage_crc(router_image, tmp_path / "bad.bin"), tmp_path, sentinel)
    uimage = [p for p in ex.parts if p.format == "uimage"]
    assert [(p.path, p.status, p.reason) for p in uimage] == [
        ("0x0 uimage", "error", "uImage data CRC mismatch; payload kept as is")]
    assert [p.status for p in ex.parts if p.format == "squashfs"] == ["extracted"]


def test_truncated_squashfs_is_not_reported_clean(tmp_path: Path, sentinel: Path) -> None:
    rootfs = make_rootfs(tmp_path / "root")
    image = build_truncated(build_squashfs(rootfs, tmp_path / "fs.sqfs", block_size=4096), tmp_path / "cut.sqfs")
    ex = _extract_untouched(image, tmp_path, sentinel)
    assert ex.roots == []
    assert not any(p.format == "squashfs" and p.status == "extracted" for p in ex.parts)
    assert [p.status for p in ex.parts if p.format == "unknown"] == ["not_extracted", "not_extracted"]
