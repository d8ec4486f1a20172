"""Shared host key detection: a real dropbear serving a host key that is baked into a real squashfs image."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "firmware"))  # the image builders; tests/ is not a package

from image_builders import build_squashfs, make_rootfs  # noqa: E402

from iotmark.collect.firmware.scan import scan_image  # noqa: E402
from iotmark.collect.hostkeys import SHARED_HOST_KEY_CHECK, shared_host_key_findings  # noqa: E402
from iotmark.collect.probe.engine import probe_async, to_bundle  # noqa: E402
from iotmark.collect.probe.session import ProbeOptions  # noqa: E402
from iotmark.model import Bundle, Target  # noqa: E402

IMAGE_KEY_PATH = "/etc/dropbear/dropbear_ed25519_host_key"
TARGET = Target(vendor="Acme", model="Cam 1", firmware_version="1.0", device_class="consumer-general")

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("dropbear", "dropbearkey", "mksquashfs")),
                                reason="needs dropbear-bin and squashfs-tools (Debian packages)")


def _dropbearkey(path: Path) -> Path:
    subprocess.run(["dropbearkey", "-t", "ed25519", "-f", str(path)], capture_output=True, check=True)
    return path


@pytest.fixture(scope="module")
def image_and_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A squashfs firmware image whose Dropbear host key was generated at build time, and that key file."""
    work = tmp_path_factory.mktemp("fw")
    root = make_rootfs(work / "root")
    (root / "etc/dropbear").mkdir(parents=True)
    key = _dropbearkey(root / IMAGE_KEY_PATH.lstrip("/"))
    return build_squashfs(root, work / "cam.squashfs"), key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dropbear(tmp_path: Path) -> Iterator[Callable[[Path], int]]:
    """Start dropbear on 127.0.0.1 with a given host key (password logins off); stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(key: Path) -> int:
        port = _free_port()
        proc = subprocess.Popen(["dropbear", "-F", "-E", "-s", "-p", f"127.0.0.1:{port}", "-r", str(key),
                                 "-P", str(tmp_path / f"dropbear-{port}.pid")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dropbear never listened on 127.0.0.1:{port}")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)


def _merged(image: Path, port: int, tmp_path: Path) -> Bundle:
    firmware = scan_image(image, TARGET, work_root=tmp_path / "work").bundle
    options = ProbeOptions(ports=[port], udp=False, protocols={"ssh"}, credential_budget=0)
    probe = to_bundle(asyncio.run(probe_async("127.0.0.1", options)), TARGET)
    return firmware.merge(probe)


def test_host_key_served_from_the_image_is_one_critical_finding(image_and_key, dropbear, tmp_path):
    image, key = image_and_key
    port = dropbear(key)
    bundle = _merged(image, port, tmp_path)
    (found,) = shared_host_key_findings(bundle)
    assert (found.check, found.outcome, found.severity) == (SHARED_HOST_KEY_CHECK, "fail", "critical")
    assert (found.evidence.address, found.evidence.port, found.evidence.path, found.evidence.source) == (
        "127.0.0.1", port, IMAGE_KEY_PATH, "cam.squashfs")
    assert found.provisions == ["etsi-en-303-645:5.4-3", "etsi-en-303-645:5.4-4", "cra-annex-i:I(2)(e)",
                                "owasp-iot-top10:I7"]
    served = next(f for f in bundle.findings if f.check.startswith("probe.ssh.") and f.evidence.port == port)
    in_image = next(f for f in bundle.findings if f.check == "firmware.secrets.private_key")
    assert served.evidence.host_key_type == ["ssh-ed25519"]
    assert served.evidence.host_key_sha256 == [in_image.evidence.sha256]
    assert in_image.evidence.sha256 not in found.model_dump_json()
    assert key.read_bytes().hex() not in found.model_dump_json()


def test_host_key_generated_on_the_device_is_no_finding(image_and_key, dropbear, tmp_path):
    image, _ = image_and_key
    port = dropbear(_dropbearkey(tmp_path / "own_host_key"))
    bundle = _merged(image, port, tmp_path)
    assert [f.evidence.path for f in bundle.findings if f.check == "firmware.secrets.private_key"] == [IMAGE_KEY_PATH]
    assert len(next(f for f in bundle.findings if f.check.startswith("probe.ssh.")).evidence.host_key_sha256) == 1
    assert shared_host_key_findings(bundle) == []
