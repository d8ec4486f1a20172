"""Unpacking real firmware layouts in the sandbox: parts, roots, metadata and input errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from image_builders import (
    build_cpio,
    build_cramfs,
    build_erofs,
    build_ext,
    build_jffs2,
    build_router_image,
    build_squashfs,
    build_tar,
    build_trx_like,
    build_ubi,
    build_zip,
    make_rootfs,
    tree_digest,
)

from iotmark.collect.firmware import sandbox
from iotmark.collect.firmware.unpack import Limits, Part, UnpackError, extract


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rootfs(tmp_path_factory.mktemp("unpack") / "root")


def _as_extracted(rootfs: Path) -> dict[str, str]:
    """The source tree as unblob leaves it: absolute symlinks made relative to their root."""
    return tree_digest(rootfs) | {"sbin/init": "-> ../bin/busybox"}


def _statuses(parts: list[Part]) -> list[tuple[str, str, str]]:
    return [(p.path, p.format, p.status) for p in parts]


# unblob's pool module sets the multiprocessing start method when imported, which fails in a process where
# another library (Dask, in the fleet tests) already chose one; so the comparison runs in its own interpreter.
_COMPARE_HANDLERS = """
import json, sys
from pathlib import Path
from unblob.handlers import BUILTIN_HANDLERS
from unblob.processing import ExtractionConfig, process_file
from iotmark.collect.firmware.unblob_handlers import handlers_with_plugin

image, work = Path(sys.argv[1]), Path(sys.argv[2])
outcomes = {}
for name, handlers in (("builtin", BUILTIN_HANDLERS), ("plugin", handlers_with_plugin(BUILTIN_HANDLERS))):
    config = ExtractionConfig(extract_root=work / name, randomness_depth=0, process_num=1, handlers=handlers)
    result = process_file(config, image)
    chunks = [r for t in result.results for r in t.reports if type(r).__name__ == "ChunkReport"]
    missing = [e for c in chunks for e in c.extraction_reports
               if type(e).__name__ == "ExtractorDependencyNotFoundReport"]
    passwd = work / name / (image.name + "_extract") / "etc" / "passwd"
    outcomes[name] = [[list(m.dependencies) for m in missing], passwd.exists()]
print(json.dumps(outcomes))
"""


def test_unblob_extracts_squashfs_only_with_the_plugin(rootfs: Path, tmp_path: Path) -> None:
    image = build_squashfs(rootfs, tmp_path / "fs.sqfs")
    run = subprocess.run([sys.executable, "-c", _COMPARE_HANDLERS, str(image), str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {"builtin": [[["sasquatch"]], False], "plugin": [[], True]}


def test_router_image_yields_uimage_kernel_and_squashfs_root(rootfs: Path, tmp_path: Path) -> None:
    image = build_router_image(rootfs, tmp_path / "router.bin", tmp_path / "build")
    ex = extract(image, tmp_path / "work")
    assert _statuses(ex.parts) == [
        ("0x0 uimage", "uimage", "extracted"),
        ("0x10000 squashfs_v4_le", "squashfs", "extracted"),
        ("0x0 uimage > kernel > 0x0 lzma", "lzma", "extracted"),
    ]
    assert [r.relative_to(ex.work_dir) for r in ex.roots] == [
        Path("extract/router.bin_extract/65536-69632.squashfs_v4_le_extract")]
    assert tree_digest(ex.roots[0]) == _as_extracted(rootfs)
    assert {k: ex.metadata[k] for k in ("uimage_name", "architecture", "uimage_type", "kernel_version")} == {
        "uimage_name": "TL-WR841N v9", "architecture": "mips", "uimage_type": "kernel", "kernel_version": "2.6.31"}
    assert ex.limits_hit == []


@pytest.mark.parametrize(("builder", "comp", "handler", "version"), [
    ("v4", "lzma-vendor-props", "squashfs_v4_be", "v4.0, lzma"),
    ("v3", "lzma-nosize", "squashfs_v3", "v3.1, auto"),
])
def test_vendor_squashfs_falls_back_to_own_reader(rootfs: Path, tmp_path: Path, builder: str, comp: str,
                                                  handler: str, version: str) -> None:
    image = build_router_image(rootfs, tmp_path / "router.bin", tmp_path / "build", rootfs_builder=builder, comp=comp)
    ex = extract(image, tmp_path / "work")
    squash = [p for p in ex.parts if p.format == "squashfs"]
    assert [(p.path, p.status) for p in squash] == [(f"0x10000 {handler}", "extracted")]
    assert squash[0].reason.startswith("unsquashfs exited 1: ")
    assert squash[0].reason.endswith(f"extracted with the iotmark squashfs reader ({version})")
    assert tree_digest(ex.roots[0]) == _as_extracted(rootfs)


FILESYSTEMS = {
    "jffs2": lambda src, dst, work: build_jffs2(src, dst),
    "ubi": lambda src, dst, work: build_ubi(src, dst, work),
    "cpio": lambda src, dst, work: build_cpio(src, dst),
    "ext": lambda src, dst, work: build_ext(src, dst),
    "tar": lambda src, dst, work: build_tar(src, dst),
    "cramfs": lambda src, dst, work: build_cramfs(src, dst),
    "erofs": lambda src, dst, work: build_erofs(src, dst),
}


@pytest.mark.parametrize("kind", sorted(FILESYSTEMS))
def test_filesystem_formats_give_a_root(rootfs: Path, tmp_path: Path, kind: str) -> None:
    image = FILESYSTEMS[kind](rootfs, tmp_path / f"image.{kind}", tmp_path / "build")
    ex = extract(image, tmp_path / "work")
    assert len(ex.roots) == 1
    root = ex.roots[0]
    assert (root / "etc/passwd").read_text() == (rootfs / "etc/passwd").read_text()
    assert os.readlink(root / "bin/sh") == "busybox"
    assert [p.status for p in ex.parts if p.path.count(">") == 0] == ["extracted"]


def test_zip_members_are_extracted_and_found_as_root(rootfs: Path, tmp_path: Path) -> None:
    ex = extract(build_zip(rootfs, tmp_path / "fw.zip"), tmp_path / "work")
    assert _statuses(ex.parts) == [("0x0 zip", "zip", "extracted")]
    assert (ex.roots[0] / "usr/bin/blob.bin").read_bytes() == (rootfs / "usr/bin/blob.bin").read_bytes()


def test_trx_partitions_are_searched(rootfs: Path, tmp_path: Path) -> None:
    fs = build_squashfs(rootfs, tmp_path / "fs.sqfs")
    image = build_trx_like([b"\x00" * 4096, fs.read_bytes()], tmp_path / "fw.trx")
    ex = extract(image, tmp_path / "work")
    assert ("0x0 trx_v1", "trx", "extracted") in _statuses(ex.parts)
    assert tree_digest(ex.roots[0]) == _as_extracted(rootfs)


def test_unknown_data_is_reported_not_extracted(tmp_path: Path) -> None:
    blob = tmp_path / "random.bin"
    blob.write_bytes(bytes((i * 7919) % 251 for i in range(20000)))
    ex = extract(blob, tmp_path / "work")
    assert ex.parts == [Part("image", 0, "unknown", "not_extracted", "no known format found", 20000)]
    assert ex.roots == []


def test_file_count_limit_is_reported(tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(300):
        (many / f"f{i}").write_text("x")
    ex = extract(build_tar(many, tmp_path / "many.tar"), tmp_path / "work", Limits(max_files=100))
    assert ex.limits_hit == ["file count limit 100 reached"]


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.bin", "missing.bin: file not found"),
    (lambda d: d, ": not a regular file"),
    (lambda d: (d / "empty.bin").write_bytes(b"") and d / "empty.bin" or d / "empty.bin", "empty.bin: empty file"),
    (lambda d: (d / "big.bin").write_bytes(b"x" * 100) and d / "big.bin", "big.bin: 100 bytes is over the 10-byte image limit"),
])
def test_unusable_input_raises_unpack_error(tmp_path: Path, make, message: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    with pytest.raises(UnpackError, match=message):
        extract(make(src), tmp_path / "work", Limits(max_image_bytes=10))


def test_extraction_runs_in_user_namespace(rootfs: Path, tmp_path: Path) -> None:
    ex = extract(build_tar(rootfs, tmp_path / "fw.tar"), tmp_path / "work")
    assert sandbox.user_namespaces_available()
    assert (ex.metadata["sandbox"], ex.metadata["sandbox_confinement"]) == (
        "user, network and PID namespaces", "landlock")


def test_resolve_inside_treats_root_as_slash(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin/busybox").write_text("bb")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root::0:0::/:/bin/sh\n")
    os.symlink("/bin/busybox", root / "bin/sh")
    os.symlink("../../../../../etc/passwd", root / "up")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    assert sandbox.resolve_inside(root, "bin/sh") == root / "bin/busybox"
    assert sandbox.resolve_inside(root, "up") == root / "etc/passwd"
    assert sandbox.resolve_inside(root, "loop1") is None


def test_sanitise_removes_specials_outside_hardlinks_and_setid(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    os.link(outside, tree / "linked")
    os.mkfifo(tree / "fifo")
    (tree / "suid").write_text("x")
    os.chmod(tree / "suid", 0o4755)
    report = sandbox.sanitise_tree(tree)
    assert (report.removed_special, report.removed_hardlinks, report.setid_stripped) == (
        ["fifo"], ["linked"], {"suid": "0o4755"})
    assert sorted(p.name for p in tree.iterdir()) == ["suid"]
    assert outside.read_text() == "host file"
    assert oct((tree / "suid").stat().st_mode & 0o7777) == "0o755"
