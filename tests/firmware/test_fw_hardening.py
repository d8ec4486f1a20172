"""Binary hardening per ELF file and the summary per architecture."""

from __future__ import annotations

import struct

from iotmark.collect.firmware.corpus import Corpus
from iotmark.collect.firmware.hardening import hardening_findings, inspect_elf

PT_LOAD, PT_GNU_STACK = 1, 0x6474E551


def elf32_be_ppc(load_flags: int) -> bytes:
    """A minimal big-endian 32-bit PowerPC executable: one LOAD segment, no PT_GNU_STACK, no sections."""
    header = struct.pack(">4sBBBB8xHHIIIIIHHHHHH", b"\x7fELF", 1, 2, 1, 0, 2, 20, 1, 0x10000054, 52, 0, 0,
                         52, 32, 1, 40, 0, 0)
    load = struct.pack(">IIIIIIII", PT_LOAD, 0, 0x10000000, 0x10000000, 84, 84, load_flags, 0x10000)
    return header + load


def elf64_le_aarch64() -> bytes:
    """A minimal little-endian 64-bit AArch64 executable with a non-executable stack."""
    header = struct.pack("<4sBBBB8xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 2, 183, 1, 0x400078, 64, 0, 0,
                         64, 56, 2, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", PT_LOAD, 5, 0, 0x400000, 0x400000, 176, 176, 0x10000)
    stack = struct.pack("<IIQQQQQQ", PT_GNU_STACK, 6, 0, 0, 0, 0, 0, 16)
    return header + load + stack


def _summaries(analysis):
    return {f.evidence.architecture: f for f in analysis.findings if f.check == "firmware.hardening.summary"}


def test_weak_root_mips_busybox_has_an_executable_stack(weak):
    summaries = _summaries(weak)
    assert sorted(summaries) == ["arm 32-bit little-endian", "mips 32-bit little-endian"]
    mips = summaries["mips 32-bit little-endian"]
    assert (mips.outcome, mips.severity, mips.evidence.path) == ("fail", "medium", "/bin/busybox")
    assert mips.evidence.binaries == [{"path": "/bin/busybox", "dangerous_imports": [],
                                       "missing": ["NX (executable stack)", "PIE", "full RELRO (has partial)"]}]
    arm = summaries["arm 32-bit little-endian"]
    assert (arm.outcome, arm.evidence.path) == ("pass", "/usr/sbin/dropbear")
    assert arm.detail.startswith("1 ELF files (1 executables, 0 shared libraries): NX 1/1, PIE 1/1, full RELRO 1/1")


def test_clean_root_arm_binaries_pass_and_list_risky_imports(clean):
    [summary] = _summaries(clean).values()
    assert summary.outcome == "pass"
    assert ("NX 2/2, PIE 1/2, full RELRO 1/2, partial RELRO 1/2, stack canary 1/1, FORTIFY 1/1, stripped 2/2, "
            "RPATH/RUNPATH 0. Imports of risky functions: popen, stpcpy, strcat, strcpy.") in summary.detail


def test_debian_dnsmasq_is_fully_hardened(debian_packages):
    data = (debian_packages["dnsmasq-base:armhf"] / "usr/sbin/dnsmasq").read_bytes()
    info = inspect_elf("usr/sbin/dnsmasq", data)
    assert (info.arch, info.bits, info.endian, info.kind) == ("arm", 32, "little-endian", "executable")
    assert (info.nx, info.pie, info.relro, info.canary, info.fortify, info.stripped) == (True, True, "full", True, True, True)
    assert "strcpy" in info.dangerous and "popen" in info.dangerous


def test_static_stripped_busybox_canary_cannot_be_told(debian_packages):
    data = (debian_packages["busybox-static:armhf"] / "bin/busybox").read_bytes()
    info = inspect_elf("bin/busybox", data)
    assert (info.static, info.pie, info.canary, info.fortify, info.relro) == (True, False, None, None, "partial")


def test_big_endian_powerpc_without_gnu_stack_and_rwx_segment():
    info = inspect_elf("bin/legacy", elf32_be_ppc(7))
    assert (info.arch, info.bits, info.endian, info.nx, info.rwx_segment, info.pie) == (
        "powerpc", 32, "big-endian", False, True, False)
    [finding] = hardening_findings(Corpus(image="x"), [info])
    assert (finding.outcome, finding.evidence.architecture) == ("fail", "powerpc 32-bit big-endian")


def test_aarch64_with_non_executable_stack():
    info = inspect_elf("bin/tiny", elf64_le_aarch64())
    assert (info.arch, info.bits, info.endian, info.nx, info.rwx_segment) == ("aarch64", 64, "little-endian", True, False)


def test_non_elf_and_truncated_elf_are_skipped():
    assert inspect_elf("etc/passwd", b"root:x:0:0::/:/bin/sh\n") is None
    assert inspect_elf("bin/cut", elf32_be_ppc(5)[:40]) is None


def test_image_without_elf_is_not_tested():
    [finding] = hardening_findings(Corpus(image="x"), [])
    assert (finding.check, finding.outcome) == ("firmware.hardening.summary", "not_tested")
