"""CoAP: is /.well-known/core readable by anyone, and which listed resources answer a GET without any
authentication. Messages are encoded here (RFC 7252) so each exchange is one capped datagram."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from iotmark.collect.probe.session import Service, Session
from iotmark.model import Finding

SERVICES = ("coap",)
DEFAULT_CHECK = "probe.coap.resources_exposed"
MAX_RESOURCES = 8  # resources read per device; enough to show exposure without walking a whole tree
URI_PATH = 11
CONTENT = 0x45  # 2.05


@dataclass
class Message:
    code: int
    payload: bytes

    @property
    def code_text(self) -> str:
        return f"{self.code >> 5}.{self.code & 0x1F:02d}"


def _option(delta: int, value: bytes) -> bytes:
    def nibble(n: int) -> tuple[int, bytes]:
        if n < 13:
            return n, b""
        if n < 269:
            return 13, bytes([n - 13])
        return 14, (n - 269).to_bytes(2, "big")

    d, dext = nibble(delta)
    ln, lext = nibble(len(value))
    return bytes([(d << 4) | ln]) + dext + lext + value


def get_request(path: str) -> bytes:
    """A confirmable GET for `path` with a random message id and token."""
    out = bytes([0x42, 0x01]) + secrets.token_bytes(2) + secrets.token_bytes(2)
    last = 0
    for segment in [s for s in path.split("/") if s]:
        out += _option(URI_PATH - last, segment.encode())
        last = URI_PATH
    return out


def _extended(nibble: int, data: bytes, i: int) -> tuple[int, int] | None:
    """An option delta or length nibble with its extended bytes; (value, next index) or None if malformed."""
    if nibble < 13:
        return nibble, i
    if nibble == 13 and i < len(data):
        return data[i] + 13, i + 1
    if nibble == 14 and i + 1 < len(data):
        return int.from_bytes(data[i:i + 2], "big") + 269, i + 2
    return None


def parse(data: bytes) -> Message | None:
    """Code and payload of a CoAP message; None if the bytes are not one."""
    if len(data) < 4 or data[0] >> 6 != 1:
        return None
    i = 4 + (data[0] & 0x0F)
    while i < len(data) and data[i] != 0xFF:
        first = data[i]
        delta = _extended(first >> 4, data, i + 1)
        if delta is None:
            return None
        length = _extended(first & 0x0F, data, delta[1])
        if length is None:
            return None
        i = length[1] + length[0]
    payload = data[i + 1:] if i < len(data) else b""
    return Message(data[1], payload)


def resources_of(link_format: bytes) -> list[str]:
    """Resource paths listed in a CoRE link-format document."""
    return [p for p in re.findall(r"<([^>]+)>", link_format.decode("utf-8", "replace")) if p.startswith("/")]


async def run(session: Session, service: Service) -> list[Finding]:
    """Report the resource list and which resources any client can read."""
    message = parse(service.reply) or parse(await session.datagram(service.port, get_request("/.well-known/core"))
                                            or b"")
    if message is None:
        return [session.not_tested(DEFAULT_CHECK, "no CoAP answer to GET /.well-known/core", service)]
    if message.code != CONTENT:
        return []  # the listing is protected or absent
    listed = [p for p in resources_of(message.payload) if p != "/.well-known/core"]
    readable = []
    for path in listed[:MAX_RESOURCES]:
        reply = parse(await session.datagram(service.port, get_request(path)) or b"")
        if reply is not None and reply.code == CONTENT:
            readable.append(path)
    detail = (f"/.well-known/core lists {len(listed)} resources to any client; "
              f"{len(readable)} of {min(len(listed), MAX_RESOURCES)} tried answer GET without authentication")
    return [session.finding(DEFAULT_CHECK, "fail", detail, service, path="/.well-known/core",
                            excerpt=", ".join(readable or listed)[:300])]
