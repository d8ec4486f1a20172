"""The whole analysis over built roots: exact fail sets, no fail on the clean root, evidence on every
finding, a read-only view that never leaves the root or blocks on hostile entries."""

from __future__ import annotations

import os

import pytest

from iotmark.collect.base import check_registry
from iotmark.collect.firmware.analysis import analyse_root
from iotmark.collect.firmware.fsview import RootView

WEAK_FAILS = {
    "firmware.accounts.default_credential", "firmware.accounts.empty_password", "firmware.accounts.weak_hash",
    "firmware.accounts.hardcoded_credential", "firmware.services.telnetd", "firmware.services.debug_shell",
    "firmware.services.ssh_password_login", "firmware.component.known_vulnerability",
    "firmware.secrets.private_key", "firmware.certificates.expired", "firmware.certificates.weak_key",
    "firmware.certificates.self_signed", "firmware.hardening.summary", "firmware.update.unsigned",
}


def test_every_seeded_weakness_is_a_fail(weak):
    assert {f.check for f in weak.findings if f.outcome == "fail"} == WEAK_FAILS


def test_clean_root_has_no_fail_and_no_error(clean):
    assert [f.title for f in clean.findings if f.outcome in ("fail", "error")] == []
    assert sorted((f.check, f.outcome) for f in clean.findings) == [
        ("firmware.accounts.reviewed", "pass"),
        ("firmware.analysis.limits", "not_tested"),
        ("firmware.components.inventory", "pass"),
        ("firmware.components.no_known_vulnerability", "pass"),
        ("firmware.hardening.summary", "pass"),
        ("firmware.secrets.reviewed", "pass"),
        ("firmware.services.reviewed", "pass"),
        ("firmware.update.signature_verified", "pass"),
    ]


def test_every_finding_is_registered_and_points_into_the_image(weak, clean):
    registry = check_registry()
    for finding in weak.findings + clean.findings:
        assert registry[finding.check].kind == "firmware" == finding.kind
        assert finding.evidence.path.startswith("/")
        assert finding.evidence.source in ("weak.bin", "clean.bin")
        if finding.outcome == "fail":
            assert finding.evidence.excerpt, finding.check


def test_huge_sparse_file_is_reported_as_not_examined(weak):
    [limits] = [f for f in weak.findings if f.check == "firmware.analysis.limits"]
    assert (limits.outcome, limits.evidence.path) == ("not_tested", "/var/huge.img")


def test_metadata_of_the_weak_root(weak):
    assert weak.metadata == {
        "architecture": "mips 32-bit little-endian", "elf_files": "2", "kernel_version": "4.14.171",
        "os_release": "OpenWrt 19.07.2", "os_id": "OpenWrt", "os_version": "19.07.2", "os_build": "r10947-65030d81f3",
        "target": "ramips/mt7621", "os_arch": "mipsel_24kc", "vendor": "ExampleVendor", "model": "WR-100",
        "build_date": "2020-03-15 11:02", "build_date_source": "/etc/version", "files": "18", "symlinks": "17",
    }


# ---------------------------------------------------------------- the view


def test_files_lists_regular_files_only(weak_root):
    files = set(RootView(weak_root).files())
    assert {"bin/busybox", "etc/shadow", "var/huge.img"} <= files
    assert not files & {"bin/sh", "etc/escape_abs", "etc/loop_a", "tmp/console.fifo", "mnt/hostroot"}
    assert not any(f.startswith("mnt/hostroot/") for f in files)


def test_links_resolve_inside_the_root_or_not_at_all(weak_root):
    view = RootView(weak_root)
    assert view.resolve("bin/sh") == "bin/busybox"
    assert view.resolve("usr/sbin/telnetd") == "bin/busybox"
    # a link to "/" is the device's root: it leads back into the image, never to the host
    assert view.resolve("mnt/hostroot/etc/passwd") == "etc/passwd"
    assert view.read_bytes("mnt/hostroot/etc/passwd") == (weak_root / "etc/passwd").read_bytes()
    for hostile in ("etc/escape_abs", "etc/escape_rel", "etc/host_hostname", "etc/loop_a", "tmp/console.fifo",
                    "../../etc/passwd", "etc/../../etc/passwd"):
        assert view.resolve(hostile) is None, hostile
        with pytest.raises(FileNotFoundError):
            view.read_bytes(hostile)


def test_absolute_links_are_relative_to_the_root(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/busybox").write_bytes(b"busybox")
    (tmp_path / "etc").mkdir()
    os.symlink("/bin/busybox", tmp_path / "etc/tool")
    os.symlink("/bin", tmp_path / "sbin")
    view = RootView(tmp_path)
    assert view.resolve("etc/tool") == "bin/busybox"
    assert view.read_bytes("sbin/busybox") == b"busybox"
    assert view.read_text("etc/tool", limit=4) == "busy"
    assert dict(view.symlinks()) == {"etc/tool": "/bin/busybox", "sbin": "/bin"}


def test_reads_are_capped(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 5000)
    view = RootView(tmp_path, max_file_bytes=1000)
    assert len(view.read_bytes("big")) == 1000
    assert len(view.read_bytes("big", limit=10)) == 10


def test_an_analyser_failure_is_an_error_finding_not_a_crash(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/shadow").write_text("root:$1$a$b:1:::::\n")
    (tmp_path / "usr/lib/opkg").mkdir(parents=True)
    (tmp_path / "usr/lib/opkg/status").write_text("Package: broken\nVersion: ###\n")
    analysis = analyse_root(RootView(tmp_path), image_name="odd.bin")
    assert "firmware.accounts.weak_hash" in {f.check for f in analysis.findings}
    assert all(f.outcome != "error" for f in analysis.findings)
