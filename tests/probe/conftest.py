"""Fixtures for the probe tests: the insecure-device lab and its hardened twin, each started once per
session in its own network namespace and always torn down, even when tests fail."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotmark.collect.probe.engine import ProbeResult, probe_async
from iotmark.collect.probe.lab import LabDevice, lab_unavailable, start_lab, stop_lab
from iotmark.collect.probe.session import ProbeOptions


def _lab(hardened: bool) -> Iterator[LabDevice]:
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    # Not pytest's tmp_path: its parents are private to root, and the daemons' users (the FTP login's
    # home, the anonymous FTP user) must be able to reach their folders.
    workdir = Path(tempfile.mkdtemp(prefix="iotmark-lab-"))
    workdir.chmod(0o755)
    device = None
    try:
        device = start_lab(workdir, hardened=hardened)
        yield device
    finally:
        if device is not None:
            stop_lab(device)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def weak_lab() -> Iterator[LabDevice]:
    yield from _lab(hardened=False)


@pytest.fixture(scope="session")
def hardened_lab() -> Iterator[LabDevice]:
    yield from _lab(hardened=True)


@pytest.fixture(scope="session")
def weak_probe(weak_lab: LabDevice) -> ProbeResult:
    """One full probe of the weak lab: all 65,535 TCP ports, UDP services, every protocol module."""
    return asyncio.run(probe_async(weak_lab.address, ProbeOptions(backoff=0.05)))


@pytest.fixture(scope="session")
def hardened_probe(hardened_lab: LabDevice) -> ProbeResult:
    return asyncio.run(probe_async(hardened_lab.address, ProbeOptions(backoff=0.05)))
