"""Bounded network access for the probe: one gate per target caps open connections and the connect rate,
and every read is capped in bytes and time, so a hostile device cannot hang or exhaust the probe."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


class RateLimiter:
    """Spaces out events to at most `rate` per second (0 = unlimited) without a background task."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class GateStats:
    opened: int = 0
    open_now: int = 0
    peak: int = 0


class ConnectionGate:
    """At most `concurrency` connections to the target at once, opened at most `rate` per second."""

    def __init__(self, concurrency: int, rate: float) -> None:
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._rate = RateLimiter(rate)
        self._bulk = asyncio.Lock()
        self.stats = GateStats()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one connection slot (for libraries that open their own sockets one at a time)."""
        async with self._slots:
            await self._rate.wait()
            self.stats.opened += 1
            self.stats.open_now += 1
            self.stats.peak = max(self.stats.peak, self.stats.open_now)
            try:
                yield
            finally:
                self.stats.open_now -= 1


    @contextlib.asynccontextmanager
    async def slots(self, count: int) -> AsyncIterator[None]:
        """Hold `count` slots at once, for a library that opens that many parallel connections itself."""
        async with contextlib.AsyncExitStack() as stack:
            # One bulk taker at a time, so two of them can never each hold part of the pool and wait forever.
            async with self._bulk:
                for _ in range(min(count, self.concurrency)):
                    await stack.enter_async_context(self.slot())
            yield


class Stream:
    """A TCP (or TLS) connection with byte- and time-capped reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_bytes: int) -> None:
        self.reader, self.writer = reader, writer
        self.remaining = max_bytes  # total bytes this connection may still read, whatever the peer sends

    async def read(self, timeout: float, limit: int = 4096) -> bytes:
        """Whatever arrives within `timeout` (at most `limit` bytes); b"" on timeout or end of stream."""
        if self.remaining <= 0:
            return b""
        try:
            async with asyncio.timeout(timeout):
                data = await self.reader.read(min(limit, self.remaining))
        except (TimeoutError, ConnectionError, OSError):
            return b""
        self.remaining -= len(data)
        return data

    async def read_until(self, done: Callable[[bytes], bool], timeout: float, limit: int = 65536) -> bytes:
        """Read until `done(buffer)` holds, the peer closes, `limit` bytes or the overall `timeout`."""
        buffer = b""
        deadline = time.monotonic() + timeout
        while len(buffer) < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = await self.read(left, min(4096, limit - len(buffer)))
            if not chunk:
                break
            buffer += chunk
            if done(buffer):
                break
        return buffer

    async def send(self, data: bytes, timeout: float = 5.0) -> bool:
        """Write and drain within `timeout`; False when the peer is gone or stalls."""
        try:
            self.writer.write(data)
            async with asyncio.timeout(timeout):
                await self.writer.drain()
        except (TimeoutError, ConnectionError, OSError, RuntimeError):
            return False
        return True

    def tls_version(self) -> str | None:
        obj = self.writer.get_extra_info("ssl_object")
        return obj.version() if obj is not None else None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.writer.wait_closed()


def insecure_tls_context() -> ssl.SSLContext:
    """A client context that completes handshakes with any device certificate: the probe inspects, not trusts."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


async def tcp_port_open(address: str, port: int, timeout: float) -> bool | None:
    """True if a TCP connect succeeds, False if refused, None if it timed out (filtered)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, (address, port))
        return True
    except TimeoutError:
        return None
    except OSError:
        return False
    finally:
        sock.close()


async def udp_exchange(address: str, port: int, payload: bytes, timeout: float, max_bytes: int = 65536,
                       tries: int = 2) -> bytes | None:
    """Send one datagram (retried once) and return the first reply from that address and port, or None."""
    loop = asyncio.get_running_loop()
    replies: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)

    class _Protocol(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
            if addr[0] == address and addr[1] == port and not replies.full():
                replies.put_nowait(data[:max_bytes])

    transport, _ = await loop.create_datagram_endpoint(_Protocol, remote_addr=(address, port))
    try:
        for _ in range(tries):
            transport.sendto(payload)
            try:
                async with asyncio.timeout(timeout / tries):
                    return await replies.get()
            except TimeoutError:
                continue
        return None
    finally:
        transport.close()
