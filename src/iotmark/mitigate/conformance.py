"""Check flows against a device's MUD policy; DNS-name ACEs are resolved from the capture's own DNS answers."""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable

import yaml

from iotmark.mitigate.flows import DnsNames, Flow
from iotmark.mitigate.policy import Policy, Rule, port_matches

PROTOCOLS = {"tcp": 6, "udp": 17}
MAX_CACHED_VERDICTS = 200_000
_NO_NAMES: frozenset[str] = frozenset()
_UNSEEN = object()


@dataclass
class Violation:
    """A flow the MUD policy does not permit, with what was checked and why it failed."""

    flow: Flow
    initiated: str  # "from-device" or "to-device"
    reason: str
    peer_names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"flow": self.flow.as_dict(), "initiated": self.initiated, "reason": self.reason,
                "peer_names": self.peer_names}


def implicit_allow() -> list[tuple[int, int]]:
    """(protocol, peer port) pairs every device may use regardless of its MUD file (data/conformance.yaml)."""
    text = resources.files("iotmark.mitigate").joinpath("data/conformance.yaml").read_text("utf-8")
    return [(PROTOCOLS[i["protocol"]], int(i["peer_port"])) for i in yaml.safe_load(text)["implicit_allow"]]


class ConformanceChecker:
    """Decides, flow by flow, whether a device's traffic stays inside its MUD policy."""

    def __init__(self, policy: Policy, device: str, names: DnsNames | None = None,
                 implicit: list[tuple[int, int]] | None = None) -> None:
        self.policy = policy
        self.device = device
        self.names = names or DnsNames()
        self.implicit = set(implicit_allow() if implicit is None else implicit)
        self._peers: dict[str, tuple[Any, bool]] = {}
        # Verdict cache: two ports that fall between the same pair of port-range edges match exactly the same
        # rules, so a verdict is keyed by the ports' classes (plus the peer, protocol, direction, whether there
        # were replies and the DNS names the peer had at the time) rather than by the ports themselves. The
        # implicitly allowed ports are classes of their own, so their verdict is cached like any other.
        edges = {0, 65536}
        for rule in (*policy.from_device, *policy.to_device):
            for spec in (rule.peer_port, rule.local_port):
                if spec is not None:
                    edges.update((spec[0], spec[1] + 1))
        for _proto, port in self.implicit:
            edges.update((port, port + 1))
        self._edges = sorted(edges)
        self._classes = [bisect.bisect_right(self._edges, port) for port in range(65536)]
        self._peer_names: dict[str, tuple[int, float, frozenset[str]]] = {}
        self._verdicts: dict[tuple[Any, ...], tuple[str, str] | None] = {}

    def _peer(self, address: str) -> tuple[Any, bool]:
        cached = self._peers.get(address)
        if cached is None:
            try:
                ip = ipaddress.ip_address(address)
                cached = (ip, ip.is_private or ip.is_link_local)
            except ValueError:
                cached = (None, False)
            if len(self._peers) < 100_000:
                self._peers[address] = cached
        return cached

    def _matches(self, rule: Rule, proto: int, peer: str, peer_port: int, local_port: int, at: float) -> bool:
        if rule.protocol is not None and rule.protocol != proto:
            return False
        if rule.unresolved:
            return False  # controller/manufacturer classes cannot be resolved from a capture alone
        ip, local = self._peer(peer)
        if ip is None or ip.version != rule.family:
            return False
        if rule.peer_net is not None and ip not in rule.peer_net:
            return False
        if rule.local_networks and not local:
            return False
        if rule.peer_dns is not None and rule.peer_dns not in self.names.names_for(peer, at):
            return False
        if proto in (6, 17):
            return port_matches(rule.peer_port, peer_port) and port_matches(rule.local_port, local_port)
        return rule.peer_port is None and rule.local_port is None

    def _decide(self, rules: list[Rule], proto: int, peer: str, peer_port: int, local_port: int, at: float,
                initiated: str | None) -> Rule | None:
        for rule in rules:
            if self._matches(rule, proto, peer, peer_port, local_port, at):
                if initiated and proto == 6 and rule.initiated and rule.initiated != initiated:
                    continue  # the ACE allows this traffic only on connections opened by the other side
                return rule
        return None

    def check(self, flow: Flow) -> Violation | None:
        """None if the flow conforms (or does not involve the device), else the violation.

        Gives the same answer as `check_uncached`, from a cache of earlier verdicts when it can.
        """
        found = self.check_all((flow,))
        return found[0] if found else None

    def check_all(self, flows: Iterable[Flow]) -> list[Violation]:
        """The violations among `flows`, in their order: `check` for each flow, with the loop's lookups bound once
        (this loop is what sets the flows/s a policy can be checked at)."""
        device, classes, edges, names = self.device, self._classes, self._edges, self.names
        verdicts, peer_names = self._verdicts, self._peer_names
        names_at, uncached = self._names_at, self.check_uncached
        found: list[Violation] = []
        for flow in flows:
            if flow.src == device:
                initiated, peer, peer_port, local_port = "from-device", flow.dst, flow.dport, flow.sport
            elif flow.dst == device:
                initiated, peer, peer_port, local_port = "to-device", flow.src, flow.sport, flow.dport
            else:
                continue
            # names_at(peer, flow.first), its common case inline
            known = peer_names.get(peer)
            if known is not None and known[0] == names.count and flow.first >= known[1]:
                peer_dns = known[2]
            else:
                peer_dns = names_at(peer, flow.first)
            key = (initiated, peer, flow.proto,
                   classes[peer_port] if 0 <= peer_port < 65536 else bisect.bisect_right(edges, peer_port),
                   classes[local_port] if 0 <= local_port < 65536 else bisect.bisect_right(edges, local_port),
                   flow.resp_packets > 0, peer_dns)
            cached = verdicts.get(key, _UNSEEN)
            if cached is _UNSEEN:
                violation = uncached(flow)
                if len(verdicts) < MAX_CACHED_VERDICTS:
                    verdicts[key] = None if violation is None else (violation.initiated, violation.reason)
                if violation is not None:
                    found.append(violation)
            elif cached is not None:
                found.append(Violation(flow, cached[0], cached[1], sorted(peer_dns)))
        return found

    def _names_at(self, peer: str, at: float) -> frozenset[str]:
        """`names.names_for(peer, at)` as a frozenset. Each peer's full set is kept with the latest answer's time
        and the number of names learned in all when it was made (names are only ever added, so an unchanged number
        means an unchanged set); a flow that starts after every answer gets the kept set."""
        version = self.names.count
        known = self._peer_names.get(peer)
        if known is None or known[0] != version:
            seen = self.names.seen.get(peer)
            known = ((version, max(seen.values()), frozenset(seen)) if seen else
                     (version, float("-inf"), _NO_NAMES))
            if len(self._peer_names) < MAX_CACHED_VERDICTS:
                self._peer_names[peer] = known
        if at >= known[1]:
            return known[2]
        return frozenset(n for n, ts in self.names.seen[peer].items() if ts <= at)

    def check_uncached(self, flow: Flow) -> Violation | None:
        """None if the flow conforms (or does not involve the device), else the violation: the plain rule walk."""
        if flow.src == self.device:
            initiated, peer, peer_port, local_port = "from-device", flow.dst, flow.dport, flow.sport
            first, second = self.policy.from_device, self.policy.to_device
        elif flow.dst == self.device:
            initiated, peer, peer_port, local_port = "to-device", flow.src, flow.sport, flow.dport
            first, second = self.policy.to_device, self.policy.from_device
        else:
            return None
        if initiated == "from-device" and (flow.proto, peer_port) in self.implicit:
            return None
        names = sorted(self.names.names_for(peer, flow.first))
        rule = self._decide(first, flow.proto, peer, peer_port, local_port, flow.first, initiated)
        if rule is None or not rule.accept:
            why = f"denied by ACE {rule.ace}" if rule else "no ACE permits it"
            return Violation(flow, initiated, f"{initiated} traffic {why}", names)
        if flow.resp_packets:
            reply = self._decide(second, flow.proto, peer, peer_port, local_port, flow.first, None)
            if reply is None or not reply.accept:
                return Violation(flow, initiated, "replies are not permitted by the opposite policy", names)
        return None


def check_flows(policy: Policy, device: str, flows: Iterable[Flow], names: DnsNames | None = None) -> list[Violation]:
    """All violations of `policy` by `device` among `flows`."""
    return ConformanceChecker(policy, device, names).check_all(flows)
