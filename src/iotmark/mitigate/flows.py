"""Flows from captures (pcap/pcapng) and Zeek conn.log, plus the names the capture's DNS answers gave each address.

A flow is keyed by its initiator: the side that sent the first packet seen (for TCP, normally the SYN).
Flows idle longer than `idle_timeout` seconds of capture time are finished and handed on, so memory
follows the number of concurrent flows, not the length of the capture.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from iotmark.mitigate.dns import A, AAAA, CNAME, DnsError, parse_dns
from iotmark.mitigate.packets import TCP, UDP, Packet, decode
from iotmark.mitigate.pcap import CaptureReader, ReadStats
from iotmark.mitigate.untrusted import BadInput

log = logging.getLogger(__name__)

MAX_FLOWS_IN_TABLE = 1_000_000
MAX_NAMES = 200_000
MAX_CONN_LOG_LINE = 64 * 1024
PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58}


@dataclass(slots=True)
class Flow:
    """One connection: initiator (src) to responder (dst), with counts in both directions."""

    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    first: float
    last: float
    packets: int = 0
    bytes: int = 0
    resp_packets: int = 0
    resp_bytes: int = 0
    flags: int = 0  # TCP flags sent by the initiator, OR-ed
    resp_flags: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"src": self.src, "dst": self.dst, "proto": self.proto, "sport": self.sport, "dport": self.dport,
                "first": round(self.first, 6), "last": round(self.last, 6), "packets": self.packets,
                "bytes": self.bytes, "resp_packets": self.resp_packets, "resp_bytes": self.resp_bytes}


@dataclass
class DnsNames:
    """Address → DNS names, learned from the answers in a capture, with when each was first answered."""

    seen: dict[str, dict[str, float]] = field(default_factory=dict)
    count: int = 0

    def learn(self, address: str, name: str, ts: float) -> None:
        names = self.seen.setdefault(address, {})
        if name not in names:
            if self.count >= MAX_NAMES:
                return  # a capture with more answers than this is hostile; keep the first ones
            self.count += 1
            names[name] = ts

    def learn_message(self, answers: list[tuple[str, int, str]], qname: str, ts: float) -> None:
        """Record A/AAAA answers under their owner name and under the query name that led to them via CNAMEs."""
        aliases = {owner: target for owner, rtype, target in answers if rtype == CNAME}
        for owner, rtype, value in answers:
            if rtype in (A, AAAA):
                self.learn(value, owner, ts)
                if qname and qname != owner and _chains_to(aliases, qname, owner):
                    self.learn(value, qname, ts)

    def names_for(self, address: str, at: float | None = None) -> set[str]:
        """The names `address` was given by answers seen no later than `at` (any time if `at` is None)."""
        names = self.seen.get(address, {})
        return {n for n, ts in names.items() if at is None or ts <= at}


def _chains_to(aliases: dict[str, str], start: str, goal: str) -> bool:
    name = start
    for _ in range(16):
        if name == goal:
            return True
        if name not in aliases:
            return False
        name = aliases[name]
    return False


class FlowTable:
    """Aggregates packets into flows; `add` returns nothing, `sweep`/`drain` yield finished flows."""

    def __init__(self, idle_timeout: float = 300.0, max_flows: int = MAX_FLOWS_IN_TABLE) -> None:
        self.idle_timeout = idle_timeout
        self.max_flows = max_flows
        self.active: dict[tuple[str, str, int, int, int], Flow] = {}

    def add(self, p: Packet) -> None:
        key = (p.src, p.dst, p.proto, p.sport, p.dport)
        flow = self.active.get(key)
        if flow is not None:
            flow.packets += 1
            flow.bytes += p.length
            flow.flags |= p.flags
            flow.last = p.ts
            return
        back = self.active.get((p.dst, p.src, p.proto, p.dport, p.sport))
        if back is not None:
            back.resp_packets += 1
            back.resp_bytes += p.length
            back.resp_flags |= p.flags
            back.last = p.ts
            return
        if len(self.active) >= self.max_flows:
            raise BadInput(f"more than {self.max_flows} concurrent flows; lower --idle-timeout or split the capture")
        self.active[key] = Flow(p.src, p.dst, p.proto, p.sport, p.dport, p.ts, p.ts, 1, p.length, flags=p.flags)

    def sweep(self, now: float) -> Iterator[Flow]:
        """Finish flows idle since before `now - idle_timeout`."""
        horizon = now - self.idle_timeout
        done = [k for k, f in self.active.items() if f.last < horizon]
        for key in done:
            yield self.active.pop(key)

    def drain(self) -> Iterator[Flow]:
        """Finish every flow still open (end of capture)."""
        flows = sorted(self.active.values(), key=lambda f: f.first)
        self.active.clear()
        yield from flows


def packets_from_capture(path: Path, stats: ReadStats | None = None, max_frames: int = 50_000_000) -> Iterator[Packet]:
    """Decoded IP packets of a capture, in file order; non-IP frames are skipped."""
    reader = CaptureReader(path, max_frames=max_frames)
    for frame in reader:
        packet = decode(frame)
        if packet is not None:
            yield packet
    if stats is not None:
        stats.frames, stats.truncated, stats.reason = reader.stats.frames, reader.stats.truncated, reader.stats.reason
        stats.formats = reader.stats.formats


def dns_of(packet: Packet) -> object | None:
    """The DNS message in a UDP packet to or from port 53, or None if there is none or it is malformed."""
    if packet.proto != UDP or 53 not in (packet.sport, packet.dport) or not packet.payload:
        return None
    try:
        return parse_dns(packet.payload)
    except DnsError:
        return None


@dataclass
class CaptureFlows:
    """Flows of one capture with the DNS names it resolved and how the read went."""

    flows: list[Flow]
    names: DnsNames
    stats: ReadStats


def iter_flows(packets: Iterable[Packet], names: DnsNames, idle_timeout: float = 300.0,
               sweep_every: int = 50_000) -> Iterator[Flow]:
    """Stream flows from packets, learning DNS answers into `names` on the way."""
    table = FlowTable(idle_timeout)
    for i, packet in enumerate(packets, 1):
        if packet.proto == UDP and packet.sport == 53:
            message = dns_of(packet)
            if message is not None and message.is_response:  # type: ignore[attr-defined]
                names.learn_message(message.answers, message.qname, packet.ts)  # type: ignore[attr-defined]
        table.add(packet)
        if i % sweep_every == 0:
            yield from table.sweep(packet.ts)
    yield from table.drain()


def flows_from_capture(path: Path, idle_timeout: float = 300.0) -> CaptureFlows:
    """All flows of a capture (pcap or pcapng) and the names its DNS answers gave to addresses."""
    stats = ReadStats()
    names = DnsNames()
    flows = list(iter_flows(packets_from_capture(path, stats), names, idle_timeout))
    if stats.truncated:
        log.warning("%s: read %d frames before the file ended early (%s)", path, stats.frames, stats.reason)
    return CaptureFlows(flows, names, stats)


def _number(value: str, what: str, line: int, kind: type[int] | type[float]) -> int | float:
    """A conn.log field as `kind`; Zeek writes "-" for unset, read as 0. Integers must not be negative, floats
    must be finite."""
    if value in ("-", ""):
        return kind(0)
    try:
        number = kind(value)
    except ValueError:
        raise BadInput(f"line {line}: {what} is not a number: {value[:40]!r}") from None
    if kind is int and number < 0:
        raise BadInput(f"line {line}: {what} is negative")
    if kind is float and not math.isfinite(number):
        raise BadInput(f"line {line}: {what} is not finite")
    return number


def _int(value: str, what: str, line: int) -> int:
    return int(_number(value, what, line, int))


def _float(value: str, what: str, line: int) -> float:
    return float(_number(value, what, line, float))


def _conn_flow(row: dict[str, str], line: int) -> Flow:
    for needed in ("ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"):
        if needed not in row:
            raise BadInput(f"line {line}: conn.log record lacks {needed}")
    proto = PROTO_NUMBERS.get(str(row["proto"]).lower())
    if proto is None:
        raise BadInput(f"line {line}: unknown proto {str(row['proto'])[:20]!r}")
    first = _float(str(row["ts"]), "ts", line)
    sport, dport = _int(str(row["id.orig_p"]), "id.orig_p", line), _int(str(row["id.resp_p"]), "id.resp_p", line)
    if sport > 65535 or dport > 65535:
        raise BadInput(f"line {line}: port out of range")
    return Flow(str(row["id.orig_h"]), str(row["id.resp_h"]), proto, sport, dport, first,
                first + _float(str(row.get("duration", "-")), "duration", line),
                _int(str(row.get("orig_pkts", "-")), "orig_pkts", line),
                _int(str(row.get("orig_ip_bytes", "-")), "orig_ip_bytes", line),
                _int(str(row.get("resp_pkts", "-")), "resp_pkts", line),
                _int(str(row.get("resp_ip_bytes", "-")), "resp_ip_bytes", line))


def read_conn_log(path: Path, max_records: int = 10_000_000) -> Iterator[Flow]:
    """Flows from a Zeek conn.log, in the TSV format (with its #fields header) or as JSON lines."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror or exc}") from None
    fields: list[str] | None = None
    separator = "\t"
    count = 0
    with fh:
        for number, raw in enumerate(iter(lambda: fh.readline(MAX_CONN_LOG_LINE + 1), b""), 1):
            if len(raw) > MAX_CONN_LOG_LINE:
                raise BadInput(f"line {number}: longer than {MAX_CONN_LOG_LINE} bytes")
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                continue
            if text.startswith("#"):
                if text.startswith("#separator"):
                    sep = text.split(" ", 1)[-1].strip()
                    separator = sep.encode().decode("unicode_escape") if sep.startswith("\\x") else sep
                elif text.startswith("#fields"):
                    fields = text.split(separator)[1:]
                continue
            if text.startswith("{"):
                try:
                    row = json.loads(text)
                except (ValueError, RecursionError):  # ValueError also covers integers past the digit limit
                    raise BadInput(f"line {number}: invalid JSON record") from None
                if not isinstance(row, dict):
                    raise BadInput(f"line {number}: JSON record is not an object")
            else:
                if fields is None:
                    raise BadInput(f"line {number}: data before the #fields header (not a Zeek log?)")
                values = text.split(separator)
                if len(values) != len(fields):
                    raise BadInput(f"line {number}: {len(values)} columns where #fields names {len(fields)}")
                row = dict(zip(fields, values))
            count += 1
            if count > max_records:
                raise BadInput(f"more than {max_records} records")
            yield _conn_flow(row, number)
