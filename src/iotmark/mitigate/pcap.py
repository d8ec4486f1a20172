"""Streaming pcap and pcapng reader written with `struct`: one record in memory at a time, limits on
every length field, and a truncated last record reported rather than raised.

Only the link types IoT captures use are decoded (Ethernet, raw IP, Linux cooked v1/v2, BSD loopback);
`packets.decode` turns a frame into the few header fields flows and detection need.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from iotmark.mitigate.untrusted import BadInput

log = logging.getLogger(__name__)

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
               b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
PCAPNG_SHB = 0x0A0D0D0A
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAX_RECORD = 256 * 1024  # larger than any real snaplen; a bigger length field means corruption
MAX_BLOCK = 16 * 1024 * 1024
MAX_INTERFACES = 1024


@dataclass(slots=True)
class Frame:
    """One captured frame: time (seconds), link type, captured bytes and the original length on the wire."""

    ts: float
    linktype: int
    data: bytes
    wire_len: int


@dataclass
class ReadStats:
    """What the reader saw: frames, skipped blocks, and whether (and why) the file ended early."""

    frames: int = 0
    skipped: int = 0
    truncated: bool = False
    reason: str = ""
    formats: list[str] = field(default_factory=list)


class CaptureReader:
    """Iterate the frames of a pcap or pcapng file; `stats` tells what was read once iteration ends."""

    def __init__(self, path: Path, *, max_frames: int = 50_000_000, max_record: int = MAX_RECORD) -> None:
        self.path = path
        self.max_frames = max_frames
        self.max_record = max_record
        self.stats = ReadStats()

    def __iter__(self) -> Iterator[Frame]:
        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise BadInput(f"cannot read: {exc.strerror or exc}") from None
        with fh:
            magic = fh.read(4)
            if len(magic) < 4:
                raise BadInput("not a capture: file shorter than a capture header")
            if magic in PCAP_MAGICS:
                self.stats.formats.append("pcap")
                yield from self._pcap(fh, magic)
            elif struct.unpack("<I", magic)[0] == PCAPNG_SHB:
                self.stats.formats.append("pcapng")
                yield from self._pcapng(fh, magic)
            else:
                raise BadInput("not a pcap or pcapng capture (unknown magic number)")

    def _count(self) -> None:
        self.stats.frames += 1
        if self.stats.frames > self.max_frames:
            raise BadInput(f"more than {self.max_frames} frames; raise the limit or split the capture")

    def _truncated(self, why: str) -> None:
        self.stats.truncated = True
        self.stats.reason = why
        log.warning("%s: capture truncated: %s", self.path, why)

    def _pcap(self, fh: BinaryIO, magic: bytes) -> Iterator[Frame]:
        order, unit = PCAP_MAGICS[magic]
        header = fh.read(20)
        if len(header) < 20:
            raise BadInput("not a capture: pcap header cut short")
        _major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack(order + "HHiIII", header)
        linktype &= 0x0FFFFFFF  # upper bits carry FCS information, not the link type
        record = struct.Struct(order + "IIII")
        read = fh.read
        while True:
            head = read(16)
            if not head:
                return
            if len(head) < 16:
                self._truncated(f"record header cut short after frame {self.stats.frames}")
                return
            sec, frac, caplen, wire_len = record.unpack(head)
            if caplen > self.max_record:
                self._truncated(f"frame {self.stats.frames + 1} claims {caplen} bytes (corrupt record)")
                return
            data = read(caplen)
            if len(data) < caplen:
                self._truncated(f"frame {self.stats.frames + 1} cut short ({len(data)} of {caplen} bytes)")
                return
            self._count()
            yield Frame(sec + frac * unit, linktype, data, wire_len)

    def _pcapng(self, fh: BinaryIO, magic: bytes) -> Iterator[Frame]:
        order = "<"
        interfaces: list[tuple[int, float]] = []  # (link type, seconds per timestamp unit)
        pending_magic: bytes | None = magic
        while True:
            head = pending_magic + fh.read(4) if pending_magic else fh.read(8)
            pending_magic = None
            if not head:
                return
            if len(head) < 8:
                self._truncated(f"block header cut short after frame {self.stats.frames}")
                return
            block_type = struct.unpack(order + "I", head[:4])[0]
            if head[:4] == b"\x0a\x0d\x0d\x0a":
                # A section header states its own byte order, so read the magic before the length.
                bom = fh.read(4)
                if len(bom) < 4:
                    self._truncated("section header cut short")
                    return
                if bom == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    raise BadInput("pcapng section header has a bad byte-order magic")
                length = struct.unpack(order + "I", head[4:8])[0]
                interfaces = []  # interface ids are per section
                body_len = length - 16
                if length < 28 or length % 4 or length > MAX_BLOCK:
                    raise BadInput(f"pcapng section header length {length} is invalid")
                body = fh.read(body_len)
                trailer = fh.read(4)
                if len(body) < body_len or len(trailer) < 4:
                    self._truncated("section header cut short")
                    return
                continue
            length = struct.unpack(order + "I", head[4:8])[0]
            if length < 12 or length % 4 or length > MAX_BLOCK:
                self._truncated(f"block of type {block_type:#x} has invalid length {length} (corrupt)")
                return
            body = fh.read(length - 12)
            trailer = fh.read(4)
            if len(body) < length - 12 or len(trailer) < 4:
                self._truncated(f"block cut short after frame {self.stats.frames}")
                return
            if struct.unpack(order + "I", trailer)[0] != length:
                self._truncated(f"block of type {block_type:#x} has mismatched trailing length (corrupt)")
                return
            if block_type == 1:
                if len(body) < 8:
                    raise BadInput("pcapng interface block too short")
                if len(interfaces) >= MAX_INTERFACES:
                    raise BadInput(f"more than {MAX_INTERFACES} interfaces in one section")
                linktype = struct.unpack(order + "H", body[:2])[0]
                interfaces.append((linktype, _tsresol(body[8:], order)))
            elif block_type in (6, 3, 2):
                frame = self._packet_block(block_type, body, order, interfaces)
                if frame is not None:
                    self._count()
                    yield frame
            else:
                self.stats.skipped += 1  # statistics, name resolution, custom blocks: not needed

    def _packet_block(self, block_type: int, body: bytes, order: str,
                      interfaces: list[tuple[int, float]]) -> Frame | None:
        if block_type == 3:  # simple packet block: interface 0, no timestamp
            if not interfaces or len(body) < 4:
                raise BadInput("pcapng simple packet block before any interface")
            wire_len = struct.unpack(order + "I", body[:4])[0]
            caplen = min(wire_len, len(body) - 4)
            return Frame(0.0, interfaces[0][0], body[4:4 + caplen], wire_len)
        if len(body) < 20:
            raise BadInput("pcapng packet block too short")
        if block_type == 6:
            iface, high, low, caplen, wire_len = struct.unpack(order + "IIIII", body[:20])
        else:  # obsolete packet block: 16-bit interface id and drop count
            iface, _drops, high, low, caplen, wire_len = struct.unpack(order + "HHIIII", body[:20])
        if iface >= len(interfaces):
            raise BadInput(f"pcapng packet names interface {iface}, which was never described")
        if caplen > len(body) - 20 or caplen > self.max_record:
            raise BadInput(f"pcapng packet claims {caplen} captured bytes, more than its block holds")
        linktype, unit = interfaces[iface]
        return Frame(((high << 32) | low) * unit, linktype, body[20:20 + caplen], wire_len)


def _tsresol(options: bytes, order: str) -> float:
    """Seconds per timestamp unit from an interface block's if_tsresol option (default microseconds)."""
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack(order + "HH", options[pos:pos + 4])
        if code == 0:
            break
        if code == 9 and length >= 1 and pos + 5 <= len(options):
            value = options[pos + 4]
            exponent = value & 0x7F
            if exponent > 63:
                raise BadInput("pcapng timestamp resolution out of range")
            return 2.0 ** -exponent if value & 0x80 else 10.0 ** -exponent
        pos += 4 + ((length + 3) & ~3)
    return 1e-6
