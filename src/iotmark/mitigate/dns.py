"""Parse DNS messages seen in captures (bounded: name pointers, label counts, answer counts)."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

MAX_ANSWERS = 64
MAX_POINTERS = 16
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
A, CNAME, AAAA = 1, 5, 28


class DnsError(ValueError):
    """The bytes are not a DNS message we can read."""


@dataclass(slots=True)
class DnsMessage:
    """A DNS query or response: the question name and, for responses, the rcode and answer records."""

    is_response: bool
    rcode: int
    qname: str
    answers: list[tuple[str, int, str]] = field(default_factory=list)  # (owner name, type, value)


def _name(data: bytes, pos: int) -> tuple[str, int]:
    """Read a possibly compressed name at `pos`; return it and the position after it in the record."""
    labels: list[str] = []
    end = -1
    hops = 0
    total = 0
    while True:
        if pos >= len(data):
            raise DnsError("name runs past the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise DnsError("cut-short name pointer")
            hops += 1
            if hops > MAX_POINTERS:
                raise DnsError("too many name pointers (loop)")
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        if length & 0xC0:
            raise DnsError("unknown label type")
        pos += 1
        if length == 0:
            break
        label = data[pos:pos + length]
        if len(label) < length:
            raise DnsError("label runs past the message")
        total += length + 1
        if total > 255:
            raise DnsError("name longer than 255 bytes")
        labels.append(label.decode("ascii", "replace").lower())
        pos += length
    return ".".join(labels), (end if end >= 0 else pos)


def parse_dns(data: bytes) -> DnsMessage:
    """Parse one DNS message (UDP payload); raise DnsError on malformed input."""
    if len(data) < 12:
        raise DnsError("shorter than a DNS header")
    _id, flags, qdcount, ancount, _ns, _ar = _HEADER.unpack_from(data)
    pos = 12
    qname = ""
    for i in range(min(qdcount, 4)):
        name, pos = _name(data, pos)
        pos += 4
        if i == 0:
            qname = name
    message = DnsMessage(bool(flags & 0x8000), flags & 0x000F, qname)
    if not message.is_response:
        return message
    for _ in range(min(ancount, MAX_ANSWERS)):
        owner, pos = _name(data, pos)
        if pos + 10 > len(data):
            raise DnsError("answer record cut short")
        rtype, _cls, _ttl, rdlength = _RR.unpack_from(data, pos)
        pos += 10
        rdata = data[pos:pos + rdlength]
        if len(rdata) < rdlength:
            raise DnsError("answer data cut short")
        if rtype == A and rdlength == 4:
            message.answers.append((owner, A, socket.inet_ntoa(rdata)))
        elif rtype == AAAA and rdlength == 16:
            message.answers.append((owner, AAAA, socket.inet_ntop(socket.AF_INET6, rdata)))
        elif rtype == CNAME:
            message.answers.append((owner, CNAME, _name(data, pos)[0]))
        pos += rdlength
    return message
