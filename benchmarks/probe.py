"""Probe benchmark (issue: probe): on the insecure-device lab, in one run,
  1. full 65,535-port TCP discovery vs `nmap -sT -p- -T4` on the same target (target: ratio <= 1.2, same open ports);
  2. a complete assessment (all protocols, credential budget 10 per service) (target: <= 60 s);
  3. the peak of open connections against the configured concurrency (256).
Needs root (network namespaces), the lab's Debian packages and nmap. Run: .venv/bin/python benchmarks/probe.py
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from iotmark.collect.probe.lab import lab_unavailable, start_lab, stop_lab

from iotmark.collect.probe.engine import probe_async  # noqa: E402
from iotmark.collect.probe.ports import scan_tcp  # noqa: E402
from iotmark.collect.probe.session import ProbeOptions, Session  # noqa: E402

RATE = 100_000.0  # connects per second; nmap -T4 sets no rate at all


def nmap_open_ports(address: str) -> tuple[set[int], float]:
    start = time.perf_counter()
    out = subprocess.run(["nmap", "-sT", "-p-", "-T4", "-n", "-Pn", "--open", "-oG", "-", address],
                         capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - start
    return {int(p) for p in re.findall(r"(\d+)/open/tcp", out)}, seconds


async def our_open_ports(address: str) -> tuple[set[int], float, int]:
    session = Session(address, ProbeOptions(rate=RATE))
    start = time.perf_counter()
    result = await scan_tcp(session, range(1, 65536))
    return set(result.open), time.perf_counter() - start, session.gate.stats.peak


def main() -> int:
    reason = lab_unavailable()
    if reason or shutil.which("nmap") is None:
        print(f"skipped: {reason or 'nmap is not installed'}")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="iotmark-bench-"))
    workdir.chmod(0o755)
    device = start_lab(workdir)
    try:
        nmap_ports, nmap_s = nmap_open_ports(device.address)
        ours, ours_s, peak = asyncio.run(our_open_ports(device.address))
        print(f"discovery at --rate {RATE:.0f}: iotmark {ours_s:.2f}s, nmap -sT -p- -T4 {nmap_s:.2f}s, ratio {ours_s / nmap_s:.2f} "
              f"(target <= 1.2); same open ports: {ours == nmap_ports} ({sorted(ours)}); peak connections {peak}")
        start = time.perf_counter()
        result = asyncio.run(probe_async(device.address, ProbeOptions(credential_budget=10)))
        total = time.perf_counter() - start
        failed = sum(f.outcome == "fail" for f in result.findings)
        print(f"complete assessment: {total:.1f}s (target <= 60 s), {len(result.services)} services, "
              f"{failed} failed checks, peak connections {result.peak_connections} of 256")
    finally:
        stop_lab(device)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
