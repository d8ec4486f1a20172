"""Discovery: a TCP connect scan with bounded concurrency and rate, service identification from what each
open port says (or answers to a TLS, HTTP or MQTT hello), and one request to each common IoT UDP service."""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import re
import secrets
import select
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iotmark.collect.probe.session import Service, Session, load_data, printable
from iotmark.collect.probe.transport import tcp_port_open
from iotmark.model import Finding

log = logging.getLogger(__name__)
PASSIVE_WAIT = 1.5  # seconds a service gets to speak first (telnet, SSH, FTP banners come at once)


@dataclass
class ScanResult:
    open: list[int]
    closed: int = 0
    filtered: int = 0


@functools.lru_cache(maxsize=1)
def signatures() -> dict[str, Any]:
    """The identification data (probe/data/signatures.yaml), regular expressions compiled."""
    raw = load_data("signatures.yaml")
    return {
        "banners": [(re.compile(b["pattern"], re.S), b["service"]) for b in raw["banners"]],
        "products": [(re.compile(p["pattern"]), p["product"]) for p in raw["products"]],
        "tcp_ports": {int(k): v for k, v in raw["tcp_ports"].items()},
        "udp_ports": {int(k): v for k, v in raw["udp_ports"].items()},
    }


def product_of(text: str) -> tuple[str | None, str | None]:
    """(product, version) named in a banner or Server header, if a signature knows it."""
    for pattern, product in signatures()["products"]:
        match = pattern.search(text)
        if match:
            return product, (match.groupdict().get("version") or None)
    return None, None


def service_of_banner(text: str) -> str | None:
    for pattern, service in signatures()["banners"]:
        if pattern.search(text):
            return service
    return None


async def scan_tcp(session: Session, ports: Iterable[int]) -> ScanResult:
    """Connect scan of `ports` within the session's concurrency, rate and connect timeout.

    On Linux one thread drives non-blocking connects through epoll (an asyncio task per port costs about
    eight times more); elsewhere a fixed pool of asyncio workers does the same job.
    """
    wanted = sorted(set(ports))
    options = session.options
    if hasattr(select, "epoll"):
        async with session.gate.slots(options.concurrency):  # the scan owns the whole connection budget
            result = await asyncio.to_thread(_epoll_scan, session.address, wanted, options.concurrency,
                                             options.rate, options.connect_timeout)
        session.gate.stats.opened += len(wanted)
        return result
    return await _asyncio_scan(session, wanted)


def _epoll_scan(address: str, ports: list[int], concurrency: int, rate: float, timeout: float) -> ScanResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    result = ScanResult(open=[])
    poller = select.epoll()
    pending: dict[int, tuple[socket.socket, int, float]] = {}
    start = time.monotonic()
    launched = 0
    queue = iter(ports)
    exhausted = False
    try:
        while not exhausted or pending:
            now = time.monotonic()
            # Token bucket: `rate` connects per second on average, bursts no larger than the concurrency.
            allowed = (now - start) * rate + concurrency - launched if rate > 0 else len(ports)
            while not exhausted and len(pending) < concurrency and allowed >= 1:
                port = next(queue, None)
                if port is None:
                    exhausted = True
                    break
                allowed -= 1
                launched += 1
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setblocking(False)
                code = sock.connect_ex((address, port))
                if code == errno.EINPROGRESS:
                    poller.register(sock.fileno(), select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP)
                    pending[sock.fileno()] = (sock, port, now + timeout)
                    continue
                if code == 0:
                    result.open.append(port)
                else:
                    result.closed += 1
                sock.close()
            wait = 0.001 if not exhausted and len(pending) < concurrency else 0.05
            for fd, _events in poller.poll(wait):
                sock, port, _deadline = pending.pop(fd)
                poller.unregister(fd)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    result.open.append(port)
                else:
                    result.closed += 1
                sock.close()
            now = time.monotonic()
            for fd in [fd for fd, (_s, _p, deadline) in pending.items() if deadline <= now]:
                sock, _port, _deadline = pending.pop(fd)
                poller.unregister(fd)
                sock.close()
                result.filtered += 1
    finally:
        for sock, _port, _deadline in pending.values():
            sock.close()
        poller.close()
    result.open.sort()
    return result


async def _asyncio_scan(session: Session, ports: list[int]) -> ScanResult:
    queue = iter(ports)
    result = ScanResult(open=[])
    timeout = session.options.connect_timeout

    async def worker() -> None:
        for port in queue:  # one shared iterator: each port goes to exactly one worker
            async with session.gate.slot():
                state = await tcp_port_open(session.address, port, timeout)
            if state:
                result.open.append(port)
            elif state is None:
                result.filtered += 1
            else:
                result.closed += 1

    await asyncio.gather(*(worker() for _ in range(session.options.concurrency)))
    result.open.sort()
    return result


async def identify_tcp(session: Session, port: int) -> Service:
    """Name the service on an open port: its own first words, else a TLS, HTTP or MQTT hello that it answers."""
    hint = signatures()["tcp_ports"].get(port, "unknown")
    first = b""
    try:
        async with session.stream(port) as stream:
            first = await stream.read(min(PASSIVE_WAIT, session.options.read_timeout), 4096)
    except (OSError, TimeoutError) as exc:
        log.debug("port %d: %s", port, exc)
    if first:
        text = first.decode("latin-1")
        service = service_of_banner(text) or hint
        product, version = product_of(text)
        if service in ("ssh", "ftp"):  # one line; SSH servers send their binary KEXINIT right after it
            first = first.split(b"\n", 1)[0]
        return Service(port, "tcp", service, banner=_banner_text(first), product=product, version=version)
    tls = await _speaks_tls(session, port)
    http_reply = await _http_hello(session, port, tls)
    if http_reply:
        header = re.search(r"(?im)^server:\s*(.+?)\s*$", http_reply)
        server = header.group(1) if header else ""
        product, version = product_of(server)
        return Service(port, "tcp", "http", tls=tls, banner=printable(server or http_reply.splitlines()[0]),
                       product=product, version=version)
    if await _mqtt_hello(session, port, tls):
        return Service(port, "tcp", "mqtt", tls=tls)
    return Service(port, "tcp", hint if hint not in ("http", "mqtt") else "unknown", tls=tls)


def _banner_text(first: bytes) -> str:
    # Telnet option bytes say nothing to a reader; keep the text that follows them.
    cleaned = re.sub(rb"\xff[\xfb-\xfe].|\xff\xfa.*?\xff\xf0", b"", first, flags=re.S)
    return printable(cleaned) or printable(first)


async def _speaks_tls(session: Session, port: int) -> bool:
    try:
        async with session.stream(port, tls=True):
            return True
    except (OSError, TimeoutError, ValueError):
        return False


async def _http_hello(session: Session, port: int, tls: bool) -> str:
    request = f"HEAD / HTTP/1.0\r\nHost: {session.address}\r\nUser-Agent: iotmark-probe\r\n\r\n".encode()
    try:
        async with session.stream(port, tls=tls) as stream:
            if not await stream.send(request):
                return ""
            reply = await stream.read_until(lambda b: b"\r\n\r\n" in b, session.options.read_timeout, 16384)
    except (OSError, TimeoutError, ValueError):
        return ""
    text = reply.decode("latin-1")
    return text if text.startswith("HTTP/") else ""


async def _mqtt_hello(session: Session, port: int, tls: bool) -> bool:
    from iotmark.collect.probe.mqtt import connect_packet

    try:
        async with session.stream(port, tls=tls) as stream:
            if not await stream.send(connect_packet(f"iotmark-{secrets.token_hex(4)}")):
                return False
            reply = await stream.read_until(lambda b: len(b) >= 4, session.options.read_timeout, 64)
    except (OSError, TimeoutError, ValueError):
        return False
    return len(reply) >= 4 and reply[0] == 0x20 and reply[1] == 0x02


# ---------------------------------------------------------------------------------------------------- UDP

def _ssdp_search(address: str) -> bytes:
    # A unicast M-SEARCH (UPnP 1.1 allows it) so nothing goes to the multicast group.
    return (f"M-SEARCH * HTTP/1.1\r\nHOST: {address}:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
            "ST: upnp:rootdevice\r\n\r\n").encode()


def _coap_well_known() -> bytes:
    # CON GET, message id and 2-byte token random, Uri-Path ".well-known" / "core".
    header = bytes([0x42, 0x01]) + secrets.token_bytes(2) + secrets.token_bytes(2)
    return header + bytes([0xBB]) + b".well-known" + bytes([0x04]) + b"core"


def _mdns_services() -> bytes:
    # Unicast-response query for the DNS-SD service list.
    name = b"".join(bytes([len(p)]) + p for p in (b"_services", b"_dns-sd", b"_udp", b"local")) + b"\x00"
    return secrets.token_bytes(2) + b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x0c\x80\x01"


def _snmp_get_sysdescr(community: bytes = b"public") -> bytes:
    # SNMPv2c GetRequest for sysDescr.0 (1.3.6.1.2.1.1.1.0), BER by hand: it is 40 bytes.
    oid = b"\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00"
    varbind = b"\x30" + bytes([len(oid) + 2]) + oid + b"\x05\x00"
    varbinds = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01" + b"\x04" + bytes([len(community)]) + community + pdu
    return b"\x30" + bytes([len(body)]) + body


def _tftp_read_request() -> bytes:
    # A read request for a file that cannot exist: any answer (even an error) shows the service.
    return b"\x00\x01" + f"iotmark-{secrets.token_hex(6)}".encode() + b"\x00octet\x00"


UDP_REQUESTS = {"ssdp": _ssdp_search, "coap": _coap_well_known, "mdns": _mdns_services,
                "snmp": _snmp_get_sysdescr, "tftp": _tftp_read_request}


async def probe_udp(session: Session) -> list[Service]:
    """One request to each common IoT UDP service; a reply makes it a service."""
    async def one(port: int, name: str) -> Service | None:
        build = UDP_REQUESTS[name]
        payload = build(session.address) if name == "ssdp" else build()
        try:
            reply = await session.datagram(port, payload)
        except OSError as exc:
            log.debug("udp %d: %s", port, exc)
            return None
        if not reply:
            return None
        product, version = product_of(reply.decode("latin-1"))
        return Service(port, "udp", name, banner=printable(reply, 120), product=product, version=version,
                       reply=reply)

    found = await asyncio.gather(*(one(p, n) for p, n in signatures()["udp_ports"].items()))
    return [s for s in found if s is not None]


async def discover(session: Session) -> tuple[list[Service], list[Finding]]:
    """Every service the target exposes, and the inventory (or why discovery was incomplete) as findings."""
    ports = session.options.ports or range(1, 65536)
    scan = await scan_tcp(session, ports)
    services = list(await asyncio.gather(*(identify_tcp(session, p) for p in scan.open)))
    if session.options.udp:
        services += await probe_udp(session)
    findings: list[Finding] = []
    listed = ", ".join(f"{s.port}/{s.transport} {s.protocol}" for s in services) or "none"
    count = len(list(ports)) if not isinstance(ports, range) else len(ports)
    findings.append(session.finding(
        "probe.ports.exposed_services", "pass",
        f"{len(services)} services answered ({listed}); {count} TCP ports scanned: {len(scan.open)} open, "
        f"{scan.closed} closed, {scan.filtered} without answer",
        excerpt=listed[:500]))
    if scan.filtered and not scan.open and not scan.closed:
        findings.append(session.not_tested("probe.ports.discovery",
                                           f"no TCP port answered within {session.options.connect_timeout}s; "
                                           "the device is unreachable or filters every port"))
    return services, findings
