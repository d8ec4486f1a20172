"""The probe's limits hold from the other side of the wire: open connections never exceed the
configured concurrency, and logins stop at the per-service budget."""

from __future__ import annotations

import asyncio
import os
import socket

from iotmark.collect.probe.engine import probe_async
from iotmark.collect.probe.session import ProbeOptions


def _peer_has_hung_up(sock: socket.socket) -> bool:
    """Whether the kernel already holds the peer's FIN for this connection (the event loop may not have seen it)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_server_never_sees_more_open_connections_than_the_concurrency() -> None:
    async def scenario() -> tuple[int, int]:
        peak = 0
        held: set[socket.socket] = set()

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal peak
            # Count what the kernel says is still open by the probe, not what the loop has processed yet:
            # a connection the probe closed a moment ago may not have been read to EOF here.
            mine = socket.socket(fileno=os.dup(writer.get_extra_info("socket").fileno()))
            open_now = 1 + sum(1 for other in held if not _peer_has_hung_up(other))
            peak = max(peak, open_now)
            held.add(mine)
            try:
                await reader.read()  # say nothing, wait for the probe to hang up
            finally:
                held.discard(mine)
                mine.close()
                writer.close()

        socks = [socket.socket() for _ in range(12)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        ports = [s.getsockname()[1] for s in socks]
        for s in socks:
            s.close()
        servers = [await asyncio.start_server(hold, "127.0.0.1", p) for p in ports]
        try:
            result = await probe_async("127.0.0.1", ProbeOptions(ports=ports, udp=False, concurrency=3,
                                                                 read_timeout=0.3, protocols=set()))
        finally:
            for server in servers:
                server.close()
        assert len(result.services) == 12
        return peak, result.peak_connections

    seen_by_server, seen_by_probe = asyncio.run(scenario())
    assert 2 <= seen_by_server <= 3  # connections did overlap, and never beyond the limit
    assert seen_by_probe == 3


def test_login_attempts_stop_at_the_budget(weak_lab) -> None:  # type: ignore[no-untyped-def]
    # admin:admin is the 4th pair of the list: a budget of 3 must not reach it.
    options = ProbeOptions(ports=[21], udp=False, protocols={"ftp"}, credential_budget=3, backoff=0.05)
    result = asyncio.run(probe_async(weak_lab.address, options))
    (verdict,) = [f for f in result.findings if f.check.startswith("probe.credentials.")]
    assert (verdict.check, verdict.outcome) == ("probe.credentials.rejected", "pass")
    assert verdict.detail.startswith("ftp on port 21 refused 3 default pairs (budget 3 of")
