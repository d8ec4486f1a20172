"""Hostile services on loopback (endless telnet negotiation, a huge FTP banner, a slow-loris web server,
garbage on the MQTT port) must not hang or crash the probe; what could not be judged is not_tested."""

from __future__ import annotations

import asyncio
import socket

from iotmark.collect.probe.engine import ProbeResult, probe_async
from iotmark.collect.probe.session import ProbeOptions

LOOPBACK = "127.0.0.1"


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind((LOOPBACK, 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


async def _endless_negotiation(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:  # DO/WILL for ever, never a prompt
        writer.write(bytes([255, 253, 1, 255, 251, 3, 255, 253, 24]))
        await writer.drain()
        await asyncio.sleep(0.01)


async def _huge_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = b"220-" + b"A" * 1000 + b"\r\n"
    for _ in range(20_000):  # 20 MB of continuation lines, never a final reply line
        writer.write(line)
        await writer.drain()


async def _slow_loris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nServer: slow\r\n" * 100:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.5)


async def _garbage_after_login(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(100)
    writer.write(b"\x20\x02\x00\x00")  # a valid CONNACK, so it is identified as MQTT ...
    await writer.drain()
    while True:  # ... then a fixed header announcing a 268 MB packet that never comes
        writer.write(b"\x30\xff\xff\xff\x7f")
        await writer.drain()
        await asyncio.sleep(0.05)


async def _run_against_hostile_servers(ports: list[int]) -> ProbeResult:
    handlers = [_endless_negotiation, _huge_banner, _slow_loris, _garbage_after_login]
    servers = [await asyncio.start_server(h, LOOPBACK, p) for h, p in zip(handlers, ports)]
    try:
        options = ProbeOptions(ports=ports, udp=False, read_timeout=1.0, check_timeout=20.0, deadline=60.0,
                               credential_budget=2, backoff=0.05, max_bytes_per_connection=256 * 1024)
        return await probe_async(LOOPBACK, options)
    finally:
        for server in servers:
            server.close()


def test_hostile_services_end_in_not_tested_findings_not_a_hang() -> None:
    telnet, ftp, http, mqtt = ports = _free_ports(4)
    result = asyncio.run(asyncio.wait_for(_run_against_hostile_servers(ports), 90))
    kinds = {s.port: s.name for s in result.services}
    assert kinds == {telnet: "telnet", ftp: "ftp", http: "unknown", mqtt: "mqtt"}
    outcomes = {(f.check, f.evidence.port, f.outcome) for f in result.findings if f.evidence.port}
    assert ("probe.credentials.default_login", telnet, "not_tested") in outcomes
    assert ("probe.ftp.anonymous", ftp, "not_tested") in outcomes
    assert ("probe.credentials.default_login", ftp, "not_tested") in outcomes
    assert not any(outcome == "pass" for _check, _port, outcome in outcomes)
