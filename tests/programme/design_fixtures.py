"""Shared helpers for the design-side programme tests (threat models, release gate, board report)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MODEL = REPO / "examples" / "threat-models" / "smart-plug.yaml"
SAMPLE_DECLARATION = REPO / "examples" / "sample-device" / "declaration.yaml"
IOTMARK = [sys.executable, "-m", "iotmark.cli"]


def run_iotmark(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command line in a subprocess (so exit codes and stderr are what a CI job sees)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*IOTMARK, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The command failed with `code` and said why in one line, without a traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


# --- firmware builds for the release gate -------------------------------------------------------------------

FIRMWARE_TESTS = REPO / "tests" / "firmware"
SAMPLE_FINDINGS = REPO / "examples" / "sample-device" / "findings.json"


def _firmware_builders():
    """The firmware tests' builders (real Debian binaries, real mksquashfs), importable from this folder."""
    if str(FIRMWARE_TESTS) not in sys.path:
        sys.path.insert(0, str(FIRMWARE_TESTS))
    import image_builders
    import rootfs_builders

    return image_builders, rootfs_builders


def build_plug_root(root: Path, busybox: Path, *, weak: bool = False) -> Path:
    """A small smart-plug root filesystem: BusyBox from Debian, hashed passwords, a signed-update script.
    `weak` is the regressing build: an empty root password and a telnet server started at boot."""
    _, rb = _firmware_builders()
    rb.copy_binary(busybox, root, "bin/busybox")
    rb.busybox_links(root)
    rb.write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    root_hash = "" if weak else rb.hash_password("kV9#tq2!Lm7@wZ4p", "$6$plugbuild0001$")
    rb.write(root, "etc/shadow", f"root:{root_hash}:19000:0:99999:7:::\nnobody:!:19000:0:99999:7:::\n", 0o600)
    rb.write(root, "etc/inittab", "::sysinit:/etc/init.d/rcS\n::shutdown:/bin/umount -a -r\n")
    boot = "#!/bin/sh\nmount -t proc proc /proc\n/usr/sbin/httpd -h /www\n"
    rb.write(root, "etc/init.d/rcS", boot + ("telnetd -l /bin/sh\n" if weak else ""), 0o755)
    rb.write(root, "usr/sbin/fw_update.sh",
             "#!/bin/sh\nset -e\nBASE=\"https://update.northwind.example/fw\"\n"
             "wget -O /tmp/fw.bin \"$BASE/latest.bin\"\nwget -O /tmp/fw.bin.sig \"$BASE/latest.bin.sig\"\n"
             "usign -V -m /tmp/fw.bin -P /etc/opkg/keys\nsysupgrade /tmp/fw.bin\n", 0o755)
    rb.write(root, "etc/opkg/keys/b5043e70f9a75cde",
             "untrusted comment: Northwind release key\nRWS1BD5w+adc3rDsYV1x+FcPzAj8Hmsi0j+KlRzqDS0xYDMGHZ7jd8Fb\n")
    rb.write(root, "etc/os-release", "NAME=\"PlugOS\"\nVERSION_ID=\"1.5.0\"\nID=plugos\n")
    rb.write(root, "www/index.html", "<p>SmartPlug P1</p>\n")
    return root


def build_plug_image(work: Path, name: str, *, weak: bool = False) -> Path:
    """A squashfs image of the plug root (see build_plug_root)."""
    ib, rb = _firmware_builders()
    try:
        debs = rb.fetch_debs(["busybox-static:armhf"])
    except rb.DebsUnavailable as exc:
        import pytest

        pytest.skip(f"gate test images need the Debian busybox package: {exc}")
    unpacked = rb.unpack_debs(debs, work / f"{name}-debs")
    root = build_plug_root(work / f"{name}-root", unpacked["busybox-static:armhf"] / "bin/busybox", weak=weak)
    return ib.build_squashfs(root, work / f"{name}.bin")
