"""Decode a captured frame into the header fields flows and detection use (IPv4/IPv6, TCP, UDP, GRE, ICMP).

Nothing here trusts a length field: every slice is bounded by what was captured.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from iotmark.mitigate.pcap import Frame

LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_RAW_ALT, LINK_SLL, LINK_IPV4, LINK_IPV6, LINK_SLL2 = 0, 1, 101, 12, 113, 228, 229, 276
TCP, UDP, GRE, ICMP, ICMP6 = 6, 17, 47, 1, 58
SYN, ACK, RST, FIN = 0x02, 0x10, 0x04, 0x01
_U16 = struct.Struct("!H")
_TCP = struct.Struct("!HHIIBB")
_UDP = struct.Struct("!HH")
_VLAN_TYPES = (0x8100, 0x88A8)


@dataclass(slots=True)
class Packet:
    """The fields of one IP packet that the mitigate stages read."""

    ts: float
    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    length: int  # IP length on the wire
    flags: int = 0  # TCP flags
    seq: int = 0
    seq_is_dst: bool = False  # Mirai's scanner sets the SYN's sequence number to the target address
    payload: bytes = b""  # TCP/UDP payload as captured (for DNS and login attempts)


def _ip_offset(frame: Frame) -> tuple[int, int] | None:
    """(offset of the IP header, ethertype-like version hint) for a frame's link type, or None."""
    data, link = frame.data, frame.linktype
    if link == LINK_ETHERNET:
        if len(data) < 14:
            return None
        ethertype, offset = _U16.unpack_from(data, 12)[0], 14
        while ethertype in _VLAN_TYPES and len(data) >= offset + 4:
            ethertype, offset = _U16.unpack_from(data, offset + 2)[0], offset + 4
        return (offset, ethertype) if ethertype in (0x0800, 0x86DD) else None
    if link in (LINK_RAW, LINK_RAW_ALT, LINK_IPV4, LINK_IPV6):
        return (0, 0) if data else None
    if link == LINK_SLL:
        return (16, _U16.unpack_from(data, 14)[0]) if len(data) >= 16 else None
    if link == LINK_SLL2:
        return (20, _U16.unpack_from(data, 0)[0]) if len(data) >= 20 else None
    if link == LINK_NULL:
        return (4, 0) if len(data) >= 4 else None
    return None


def decode(frame: Frame) -> Packet | None:
    """The packet in a frame, or None for non-IP frames, fragments after the first and cut-short headers."""
    where = _ip_offset(frame)
    if where is None:
        return None
    data, offset = frame.data, where[0]
    if len(data) < offset + 20:
        return None
    version = data[offset] >> 4
    if version == 4:
        ihl = (data[offset] & 0x0F) * 4
        if ihl < 20 or len(data) < offset + ihl:
            return None
        length = _U16.unpack_from(data, offset + 2)[0]
        if _U16.unpack_from(data, offset + 6)[0] & 0x1FFF:
            return None  # later fragments have no transport header
        proto = data[offset + 9]
        src_raw = data[offset + 12:offset + 16]
        dst_raw = data[offset + 16:offset + 20]
        src, dst = socket.inet_ntoa(src_raw), socket.inet_ntoa(dst_raw)
        l4 = offset + ihl
        end = min(len(data), offset + max(length, ihl))
    elif version == 6:
        if len(data) < offset + 40:
            return None
        length = _U16.unpack_from(data, offset + 4)[0] + 40
        proto = data[offset + 6]
        dst_raw = b""
        src = socket.inet_ntop(socket.AF_INET6, data[offset + 8:offset + 24])
        dst = socket.inet_ntop(socket.AF_INET6, data[offset + 24:offset + 40])
        l4 = offset + 40
        end = min(len(data), offset + length)
    else:
        return None
    packet = Packet(frame.ts, src, dst, proto, 0, 0, length)
    if proto == TCP and end >= l4 + 14:
        sport, dport, seq, _ack, off, flags = _TCP.unpack_from(data, l4)
        packet.sport, packet.dport, packet.seq, packet.flags = sport, dport, seq, flags
        packet.seq_is_dst = bool(dst_raw) and seq == int.from_bytes(dst_raw, "big")
        packet.payload = data[l4 + (off >> 4) * 4:end] if (off >> 4) >= 5 else b""
    elif proto == UDP and end >= l4 + 8:
        packet.sport, packet.dport = _UDP.unpack_from(data, l4)
        packet.payload = data[l4 + 8:end]
    return packet
