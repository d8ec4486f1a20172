"""MQTT: anonymous access, default credentials, TLS or not, and whether a client may read every topic.

The few MQTT 3.1.1 packets needed (CONNECT, CONNACK, SUBSCRIBE, SUBACK, PUBLISH) are encoded here so
every read goes through the probe's capped streams and deadlines.
"""

from __future__ import annotations

import secrets
import time

from iotmark.collect.probe.credentials import Attempt, Pair, login_finding
from iotmark.collect.probe.session import Service, Session, printable
from iotmark.collect.probe.transport import Stream
from iotmark.model import Finding

SERVICES = ("mqtt",)
DEFAULT_CHECK = "probe.mqtt.anonymous"
MAX_PACKET = 65536
WILDCARD_WAIT = 1.5  # seconds to collect retained messages after subscribing to "#"
CONNACK_CODES = {0: "accepted", 1: "unacceptable protocol version", 2: "identifier rejected",
                 3: "server unavailable", 4: "bad user name or password", 5: "not authorised"}


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def connect_packet(client_id: str, user: str | None = None, password: str | None = None) -> bytes:
    """An MQTT 3.1.1 CONNECT with a clean session and an optional user name and password."""
    flags = 0x02 | (0x80 if user is not None else 0) | (0x40 if password is not None else 0)
    body = _string("MQTT") + bytes([4, flags]) + (30).to_bytes(2, "big") + _string(client_id)
    if user is not None:
        body += _string(user)
    if password is not None:
        body += _string(password)
    return bytes([0x10]) + _length(len(body)) + body


def publish_packet(topic: str, payload: bytes, *, retain: bool = False, packet_id: int | None = None) -> bytes:
    """An MQTT 3.1.1 PUBLISH: QoS 1 (the broker answers PUBACK) when `packet_id` is given, else QoS 0."""
    flags = (0x02 if packet_id is not None else 0) | (0x01 if retain else 0)
    body = _string(topic) + (packet_id.to_bytes(2, "big") if packet_id is not None else b"") + payload
    return bytes([0x30 | flags]) + _length(len(body)) + body


def subscribe_packet(topic: str, packet_id: int = 1) -> bytes:
    body = packet_id.to_bytes(2, "big") + _string(topic) + b"\x00"
    return bytes([0x82]) + _length(len(body)) + body


async def read_packet(stream: Stream, timeout: float) -> tuple[int, bytes] | None:
    """One MQTT packet (type nibble, body) or None on timeout, close or an oversized/garbled header."""
    deadline = time.monotonic() + timeout
    head = await stream.read(timeout, 1)
    if not head:
        return None
    size, shift = 0, 0
    for _ in range(4):
        byte = await stream.read(max(0.01, deadline - time.monotonic()), 1)
        if not byte:
            return None
        size |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    else:
        return None
    if size > MAX_PACKET:
        return None
    body = b""
    while len(body) < size:
        chunk = await stream.read(max(0.01, deadline - time.monotonic()), size - len(body))
        if not chunk:
            return None
        body += chunk
    return head[0] >> 4, body


async def _connack(session: Session, stream: Stream, user: str | None, password: str | None) -> int | None:
    """Connect and return the CONNACK return code, or None when the broker did not answer like MQTT."""
    if not await stream.send(connect_packet(f"iotmark-{secrets.token_hex(4)}", user, password)):
        return None
    packet = await read_packet(stream, session.options.read_timeout)
    if packet is None or packet[0] != 2 or len(packet[1]) < 2:
        return None
    return packet[1][1]


async def _wildcard_topics(session: Session, stream: Stream) -> list[str] | None:
    """Topics received after subscribing to '#', or None when the broker refused the subscription."""
    if not await stream.send(subscribe_packet("#")):
        return None
    deadline = time.monotonic() + session.options.read_timeout + WILDCARD_WAIT
    granted = False
    topics: list[str] = []
    while time.monotonic() < deadline and len(topics) < 50:
        packet = await read_packet(stream, max(0.01, deadline - time.monotonic()))
        if packet is None:
            break
        kind, body = packet
        if kind == 9:  # SUBACK: 0x80 is failure
            granted = len(body) >= 3 and body[2] != 0x80
            if not granted:
                return None
            deadline = min(deadline, time.monotonic() + WILDCARD_WAIT)
        elif kind == 3 and len(body) >= 2:  # PUBLISH: topic first
            size = int.from_bytes(body[:2], "big")
            topics.append(printable(body[2:2 + size], 120))
    return topics if granted else None


async def run(session: Session, service: Service) -> list[Finding]:
    """Anonymous connect, wildcard read, cleartext transport, then default credentials if needed."""
    findings: list[Finding] = []
    if not service.tls:
        findings.append(session.finding("probe.mqtt.cleartext", "fail",
                                        f"MQTT on port {service.port} without TLS: credentials and messages "
                                        "cross the network in clear", service))
    async with session.stream(service.port, tls=service.tls) as stream:
        code = await _connack(session, stream, None, None)
        if code is None:
            return findings + [session.not_tested(DEFAULT_CHECK, "no CONNACK from the broker", service)]
        if code != 0:
            findings.append(session.finding(
                "probe.mqtt.authenticated", "pass",
                f"anonymous CONNECT refused: {CONNACK_CODES.get(code, code)}", service))
        else:
            findings.append(session.finding("probe.mqtt.anonymous", "fail",
                                            f"broker on port {service.port} accepted a CONNECT without credentials",
                                            service))
            topics = await _wildcard_topics(session, stream)
            if topics is not None:
                shown = ", ".join(sorted(set(topics))[:10])
                findings.append(session.finding(
                    "probe.mqtt.wildcard_read", "fail",
                    f"subscription to '#' granted to an anonymous client; {len(topics)} messages received"
                    + (f" on {shown}" if topics else ""), service, excerpt=shown or None))
    if code != 0:
        findings.append(await login_finding(session, service, lambda pair: _login(session, service, pair)))
    return findings


async def _login(session: Session, service: Service, pair: Pair) -> Attempt:
    async with session.stream(service.port, tls=service.tls) as stream:
        code = await _connack(session, stream, pair.user, pair.password)
    if code is None:
        return Attempt.ERROR
    return Attempt.ACCEPTED if code == 0 else Attempt.REJECTED if code in (4, 5) else Attempt.ERROR
