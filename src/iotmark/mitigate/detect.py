"""Botnet behaviour from packets: Mirai-style telnet scanning (with its sequence-number fingerprint),
credential brute force, C2 beaconing, SYN/ACK/UDP/GRE floods and DNS water torture.

One pass over the packets with bounded per-host state; thresholds come from data/detect-thresholds.yaml.
Each host gets a verdict (`botnet`, `suspicious`) with the behaviours, their evidence and confidence.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable

import yaml

from iotmark.mitigate.dns import DnsError, parse_dns
from iotmark.mitigate.packets import ACK, FIN, GRE, RST, SYN, TCP, UDP, Packet

STRONG = {"telnet_scan", "mirai_fingerprint", "brute_force", "syn_flood", "ack_flood", "udp_flood", "gre_flood",
          "dns_water_torture"}


def load_thresholds() -> dict[str, Any]:
    """The detection thresholds shipped as data."""
    return yaml.safe_load(resources.files("iotmark.mitigate").joinpath("data/detect-thresholds.yaml")
                          .read_text("utf-8"))


@dataclass
class Behaviour:
    """One behaviour seen from a host, with the evidence that showed it and how sure we are."""

    kind: str
    confidence: float
    evidence: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "confidence": round(self.confidence, 2), "evidence": self.evidence}


@dataclass
class _Target:
    first: float
    last: float
    syn: int = 0
    ack_only: int = 0
    udp: int = 0
    gre: int = 0


@dataclass
class _Host:
    scan_targets: set[str] = field(default_factory=set)
    scan_syns: int = 0
    fingerprint_syns: int = 0
    targets: dict[str, _Target] = field(default_factory=dict)
    logins: dict[tuple[str, int], set[int]] = field(default_factory=dict)  # (dst, port) -> client ports with data
    opens: dict[tuple[str, int], list[float]] = field(default_factory=dict)  # connection start times
    dns: dict[str, set[str]] = field(default_factory=dict)  # parent domain -> distinct query names
    dns_queries: dict[str, int] = field(default_factory=dict)


def _parent(name: str) -> str:
    labels = name.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else name


def _confidence(value: float, threshold: float) -> float:
    """0.6 at the threshold, rising to 0.95 at twice it: being far over the line is stronger evidence."""
    if threshold <= 0:
        return 0.95
    return min(0.95, 0.6 + 0.35 * max(0.0, value / threshold - 1.0))


class Detector:
    """Feed packets with `add`, then read `verdicts()`."""

    def __init__(self, thresholds: dict[str, Any] | None = None) -> None:
        self.t = thresholds or load_thresholds()
        self.hosts: dict[str, _Host] = {}
        self.scan_ports = set(self.t["telnet_scan"]["ports"])
        self.login_ports = set(self.t["brute_force"]["ports"])
        limits = self.t["limits"]
        self.max_hosts, self.max_targets, self.max_names = (limits["max_hosts"], limits["max_targets_per_host"],
                                                            limits["max_names_per_domain"])

    def _host(self, address: str) -> _Host | None:
        host = self.hosts.get(address)
        if host is None and len(self.hosts) < self.max_hosts:
            host = self.hosts[address] = _Host()
        return host

    def add(self, p: Packet) -> None:
        """Account one packet to its source host."""
        host = self._host(p.src)
        if host is None:
            return
        if p.proto == TCP:
            syn_only = p.flags & (SYN | ACK) == SYN
            if syn_only:
                if p.dport in self.scan_ports:
                    host.scan_syns += 1
                    host.fingerprint_syns += p.seq_is_dst
                    if len(host.scan_targets) < self.max_targets:
                        host.scan_targets.add(p.dst)
                key = (p.dst, p.dport)
                if key in host.opens or len(host.opens) < self.max_targets:
                    starts = host.opens.setdefault(key, [])
                    if len(starts) < 10_000:
                        starts.append(p.ts)
            if p.payload and p.dport in self.login_ports:
                key = (p.dst, p.dport)
                if key in host.logins or len(host.logins) < self.max_targets:
                    ports = host.logins.setdefault(key, set())
                    if len(ports) < 10_000:
                        ports.add(p.sport)
        elif p.proto == UDP and p.dport == 53 and p.payload:
            try:
                qname = parse_dns(p.payload).qname
            except DnsError:
                qname = ""
            if qname:
                parent = _parent(qname)
                if parent in host.dns or len(host.dns) < self.max_targets:
                    names = host.dns.setdefault(parent, set())
                    host.dns_queries[parent] = host.dns_queries.get(parent, 0) + 1
                    if len(names) < self.max_names:
                        names.add(qname)
        target = host.targets.get(p.dst)
        if target is None:
            if len(host.targets) >= self.max_targets:
                return
            target = host.targets[p.dst] = _Target(p.ts, p.ts)
        target.last = p.ts
        if p.proto == TCP:
            if p.flags & (SYN | ACK) == SYN:
                target.syn += 1
            elif p.flags & (SYN | ACK | RST | FIN) == ACK and not p.payload:
                target.ack_only += 1
        elif p.proto == UDP and p.dport != 53:
            target.udp += 1
        elif p.proto == GRE:
            target.gre += 1

    def _behaviours(self, host: _Host) -> list[Behaviour]:
        t = self.t
        found: list[Behaviour] = []
        need = t["telnet_scan"]["min_destinations"]
        if len(host.scan_targets) >= need:
            found.append(Behaviour("telnet_scan", _confidence(len(host.scan_targets), need),
                                   {"destinations": len(host.scan_targets), "syns": host.scan_syns,
                                    "ports": sorted(self.scan_ports),
                                    "sample": sorted(host.scan_targets)[:5]}))
        fp = t["mirai_fingerprint"]
        if host.fingerprint_syns >= fp["min_syns"] and host.fingerprint_syns >= fp["min_fraction"] * host.scan_syns:
            # A sequence number equal to the target address by chance is a 1 in 2^32 event per SYN.
            found.append(Behaviour("mirai_fingerprint", 0.99, {"syns_with_seq_equal_to_destination":
                                                              host.fingerprint_syns, "scan_syns": host.scan_syns}))
        need = t["brute_force"]["min_connections"]
        for (dst, port), clients in sorted(host.logins.items()):
            if len(clients) >= need:
                found.append(Behaviour("brute_force", _confidence(len(clients), need),
                                       {"target": dst, "port": port, "connections_with_data": len(clients)}))
        brute = {(b.evidence["target"], b.evidence["port"]) for b in found if b.kind == "brute_force"}
        found.extend(b for b in self._beacons(host) if (b.evidence["target"], b.evidence["port"]) not in brute)
        for kind, counter in (("syn", "syn"), ("ack", "ack_only"), ("udp", "udp"), ("gre", "gre")):
            rule = t["floods"][kind]
            for dst, target in sorted(host.targets.items()):
                count = getattr(target, counter)
                span = max(target.last - target.first, 1e-3)
                rate = count / span
                if count >= rule["min_packets"] and rate >= rule["min_rate"]:
                    conf = max(_confidence(count, rule["min_packets"]), _confidence(rate, rule["min_rate"]))
                    found.append(Behaviour(f"{kind}_flood", conf,
                                           {"target": dst, "packets": count, "packets_per_second": round(rate, 1)}))
        water = t["dns_water_torture"]
        for parent, names in sorted(host.dns.items()):
            queries = host.dns_queries[parent]
            if queries >= water["min_queries"] and len(names) >= water["min_unique_fraction"] * min(
                    queries, self.max_names):
                found.append(Behaviour("dns_water_torture", _confidence(queries, water["min_queries"]),
                                       {"domain": parent, "queries": queries, "distinct_names": len(names),
                                        "sample": sorted(names)[:3]}))
        return found

    def _beacons(self, host: _Host) -> list[Behaviour]:
        rule = self.t["beaconing"]
        found = []
        for (dst, port), starts in sorted(host.opens.items()):
            if len(starts) < rule["min_connections"]:
                continue
            gaps = [b - a for a, b in zip(starts, starts[1:])]
            mean = statistics.fmean(gaps)
            if mean < rule["min_interval"]:
                continue
            cv = statistics.pstdev(gaps) / mean
            if cv <= rule["max_interval_cv"]:
                # Regularity beyond the threshold and more repetitions both make a timer likelier than a human.
                conf = min(0.9, 0.5 + 0.2 * (1 - cv / rule["max_interval_cv"]) + 0.02 * len(starts))
                found.append(Behaviour("c2_beaconing", conf, {"target": dst, "port": port,
                                                              "connections": len(starts),
                                                              "interval_seconds": round(mean, 3),
                                                              "interval_cv": round(cv, 4)}))
        return found

    def verdicts(self) -> list[dict[str, Any]]:
        """Hosts that showed any behaviour: `botnet` when a strong behaviour is at confidence 0.8 or more."""
        hosts = []
        for address, host in sorted(self.hosts.items()):
            behaviours = self._behaviours(host)
            if not behaviours:
                continue
            strong = [b for b in behaviours if b.kind in STRONG and b.confidence >= 0.8]
            verdict = "botnet" if strong else "suspicious"
            hosts.append({"address": address, "verdict": verdict,
                          "confidence": round(max(b.confidence for b in behaviours), 2),
                          "behaviours": sorted({b.kind for b in behaviours}),
                          "evidence": [b.as_dict() for b in behaviours]})
        return hosts


def detect(packets: Iterable[Packet], thresholds: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per-host verdicts for a stream of packets."""
    detector = Detector(thresholds)
    for packet in packets:
        detector.add(packet)
    return detector.verdicts()
