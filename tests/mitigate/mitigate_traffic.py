"""Captures built by the tests with scapy: a smart plug's normal traffic, a Mirai-like bot, floods."""

from __future__ import annotations

import logging
from pathlib import Path

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.inet import GRE, IP, TCP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.utils import wrpcap, wrpcapng  # noqa: E402

PLUG = "10.0.0.5"
RESOLVER = "10.0.0.1"
CLOUD = "203.0.113.10"
NTP = "198.51.100.5"
STRANGER = "192.0.2.99"


def _eth(pkt, t: float):
    frame = Ether(src="02:00:00:00:00:05", dst="02:00:00:00:00:01") / pkt
    frame.time = t
    return frame


def tcp_session(client: str, server: str, sport: int, dport: int, t: float, data: bytes = b"hello") -> list:
    """Handshake, one data segment each way, FIN: a complete TCP connection."""
    out = [IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="S", seq=1000),
           IP(src=server, dst=client) / TCP(sport=dport, dport=sport, flags="SA", seq=5000, ack=1001),
           IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="A", seq=1001, ack=5001),
           IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="PA", seq=1001, ack=5001) / data,
           IP(src=server, dst=client) / TCP(sport=dport, dport=sport, flags="PA", seq=5001, ack=1001 + len(data))
           / b"ok",
           IP(src=client, dst=server) / TCP(sport=sport, dport=dport, flags="FA", seq=1001 + len(data), ack=5003)]
    return [_eth(p, t + i * 0.01) for i, p in enumerate(out)]


def dns_exchange(client: str, qname: str, answers: list[tuple[str, str, str]], t: float, sport: int = 40000,
                 rcode: int = 0) -> list:
    """A query and its response; answers are (owner, type, value) with type A or CNAME."""
    records = None
    for owner, rtype, value in answers:
        rr = DNSRR(rrname=owner, type=rtype, rdata=value, ttl=60)
        records = rr if records is None else records / rr
    query = IP(src=client, dst=RESOLVER) / UDP(sport=sport, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname=qname))
    reply = IP(src=RESOLVER, dst=client) / UDP(sport=53, dport=sport) / DNS(
        id=7, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=qname), an=records, ancount=len(answers))
    return [_eth(query, t), _eth(reply, t + 0.005)]


def plug_traffic() -> list:
    """The plug resolves its cloud (through a CNAME), talks TLS to it, asks NTP by address, and opens telnet out."""
    frames = dns_exchange(PLUG, "cloud.northwind.example",
                          [("cloud.northwind.example", "CNAME", "edge.cdn.example"), ("edge.cdn.example", "A", CLOUD)],
                          1000.0)
    frames += tcp_session(PLUG, CLOUD, 50000, 443, 1000.1)
    ntp = IP(src=PLUG, dst=NTP) / UDP(sport=123, dport=123) / (b"\x23" + b"\x00" * 47)
    frames.append(_eth(ntp, 1001.0))
    frames += tcp_session(PLUG, STRANGER, 50001, 23, 1002.0, b"root\r\n")
    # The cloud may not open connections to the plug, even on 443.
    frames += tcp_session(CLOUD, PLUG, 443, 8443, 1003.0)
    return frames


def write(frames: list, path: Path, fmt: str = "pcap") -> Path:
    """Write frames as pcap or pcapng."""
    (wrpcap if fmt == "pcap" else wrpcapng)(str(path), frames)
    return path


__all__ = ["DNS", "DNSQR", "DNSRR", "GRE", "IP", "TCP", "UDP", "dns_exchange", "plug_traffic", "tcp_session",
           "write", "_eth"]
