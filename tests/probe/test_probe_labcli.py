"""`iotmark lab up|down`: real namespaces and daemons started by the installed command, probed, then removed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotmark.collect.probe.lab import lab_unavailable
from iotmark.collect.probe.labctl import lab_names

# Until `lab` is mounted in iotmark.cli, the same Typer app is driven through a one-line mount.
MOUNT = ("import sys, typer; from iotmark.collect.probe.cli import lab_app; "
         "typer.main.get_command(lab_app)(sys.argv[1:], prog_name='iotmark lab')")


def _lab_command() -> list[str]:
    from iotmark.cli import app

    if any(group.name == "lab" for group in app.registered_groups):
        return [sys.executable, "-m", "iotmark.cli", "lab"]
    return [sys.executable, "-c", MOUNT]


@pytest.fixture
def home() -> Iterator[Path]:
    """A fresh IOTMARK_HOME the daemons' users can enter; whatever lab it holds is taken down afterwards."""
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="iotmark-home-"))
    folder.chmod(0o755)
    yield folder
    _run(folder, "down")
    shutil.rmtree(folder, ignore_errors=True)


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IOTMARK_HOME": str(home)}
    return subprocess.run([*_lab_command(), *args], capture_output=True, text=True, env=env, timeout=120)


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def test_lab_up_scan_down_leaves_nothing_behind(home: Path) -> None:
    namespace, veth = lab_names("weak", home / "lab")
    up = _run(home, "up")
    assert up.returncode == 0, up.stderr
    address = up.stdout.strip().splitlines()[-1]
    assert address.startswith("10.200.") and address.endswith(".2")
    assert namespace in _namespaces() and veth in _links()
    state = json.loads((home / "lab/weak.json").read_text())
    assert (state["namespace"], state["host_veth"], state["address"], state["complete"]) == (
        namespace, veth, address, True)
    assert state["workdir"] == str(home / "lab/weak") and state["pids"]

    out = home / "scan"
    scan = subprocess.run([sys.executable, "-m", "iotmark.cli", "scan", "device", address, "--ports", "21,23,1883",
                           "--no-udp", "--out", str(out), "--json"], capture_output=True, text=True, timeout=300)
    assert scan.returncode == 0, scan.stderr
    failed = {(f["check"], f["evidence"]["port"]) for f in json.loads(scan.stdout)["findings"]
              if f["outcome"] == "fail"}
    assert {("probe.ftp.anonymous", 21), ("probe.credentials.default_login", 23), ("probe.telnet.open", 23),
            ("probe.mqtt.anonymous", 1883), ("probe.mqtt.wildcard_read", 1883)} <= failed

    down = _run(home, "down")
    assert (down.returncode, down.stdout.strip()) == (0, f"removed {namespace}")
    assert namespace not in _namespaces()
    assert veth not in _links() and veth + "d" not in _links()
    assert sorted(p.name for p in (home / "lab").iterdir()) == []


def test_lab_up_twice_returns_the_running_lab(home: Path) -> None:
    first = _run(home, "up", "--hardened")
    second = _run(home, "up", "--hardened")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert second.stdout.strip().splitlines()[-1] == first.stdout.strip().splitlines()[-1]
    assert "already up" in second.stderr
    assert [n for n in _namespaces() if n.startswith("iotmark-lab-")].count(lab_names("hardened", home / "lab")[0]) == 1


def test_lab_down_without_a_lab_says_so(home: Path) -> None:
    down = _run(home, "down")
    assert (down.returncode, down.stdout) == (0, "no lab was up\n")


def test_lab_down_removes_what_a_partial_state_names(home: Path) -> None:
    namespace, veth = lab_names("weak", home / "lab")
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "d"], check=True)
    (home / "lab").mkdir()
    (home / "lab/weak.json").write_text(json.dumps({"namespace": namespace}))
    down = _run(home, "down")
    assert (down.returncode, down.stdout.strip()) == (0, f"removed {namespace}")
    assert namespace not in _namespaces() and veth not in _links()
    assert not (home / "lab/weak.json").exists()


def test_failed_lab_up_rolls_back_and_keeps_what_it_did_not_make(home: Path) -> None:
    namespace, veth = lab_names("weak", home / "lab")
    # The interface name is taken by someone else's veth pair: creating the lab's fails after its namespace.
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "x"], check=True)
    try:
        up = _run(home, "up")
        assert up.returncode == 1
        (line,) = up.stderr.strip().splitlines()
        assert line.startswith("error: the lab did not start and was removed again: ip link add " + veth)
        assert namespace not in _namespaces()
        assert veth in _links()
        assert sorted(p.name for p in (home / "lab").iterdir()) == []
    finally:
        subprocess.run(["ip", "link", "del", veth], capture_output=True)


def test_lab_up_without_root_is_one_line_and_exit_2(home: Path) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    drop = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    up = subprocess.run([*drop, *_lab_command(), "up"], capture_output=True, text=True, cwd="/",
                        env={**os.environ, "IOTMARK_HOME": str(home)}, timeout=120)
    assert (up.returncode, up.stdout) == (2, "")
    assert up.stderr.splitlines() == ["error: the probe lab needs root to create network namespaces: run it as root "
                                      "(e.g. with sudo)"]
    assert not (home / "lab").exists()
