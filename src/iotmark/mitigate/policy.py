"""A MUD file's ACLs compiled into ordered rules that flows and nftables generation both read.

RFC 8520 semantics: the ACLs named in from-device-policy apply to packets from the device, those in
to-device-policy to packets towards it; the first matching ACE decides; what no ACE accepts is denied.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from iotmark.mitigate.untrusted import BadInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PortRange = tuple[int, int, bool]  # low, high, negated
MUD_CLASSES = ("manufacturer", "same-manufacturer", "model", "controller", "my-controller")


@dataclass(frozen=True)
class Rule:
    """One ACE, from the device's point of view: `peer` is the other end, `local` the device's side."""

    acl: str
    ace: str
    direction: str  # "from-device" or "to-device": which packets it applies to
    accept: bool
    family: int  # 4 or 6
    protocol: int | None = None
    peer_net: Network | None = None
    peer_dns: str | None = None
    peer_port: PortRange | None = None
    local_port: PortRange | None = None
    local_networks: bool = False
    initiated: str | None = None  # ietf-mud:direction-initiated
    unresolved: tuple[str, ...] = ()  # MUD classes (controller, manufacturer, ...) that need outside knowledge


@dataclass
class Policy:
    """The compiled policy of one MUD file."""

    mud_url: str
    from_device: list[Rule] = field(default_factory=list)
    to_device: list[Rule] = field(default_factory=list)


def _port(spec: Any, where: str) -> PortRange | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise BadInput(f"{where}: port match must be an object")
    if "lower-port" in spec:
        return int(spec["lower-port"]), int(spec.get("upper-port", spec["lower-port"])), False
    op, port = spec.get("operator", "eq"), int(spec.get("port", 0))
    return {"eq": (port, port, False), "neq": (port, port, True), "lte": (0, port, False),
            "gte": (port, 65535, False)}.get(op) or _bad_operator(where, op)


def _bad_operator(where: str, op: Any) -> PortRange:
    raise BadInput(f"{where}: unknown port operator {op!r}")


def port_matches(spec: PortRange | None, port: int) -> bool:
    """Whether `port` satisfies a compiled port match (None matches any port)."""
    if spec is None:
        return True
    low, high, negated = spec
    return (low <= port <= high) != negated


def _rule(acl: str, ace: dict[str, Any], direction: str) -> Rule:
    where = f"acl {acl} ace {ace.get('name')}"
    matches = ace.get("matches") or {}
    action = (ace.get("actions") or {}).get("forwarding", "")
    accept = str(action).split(":")[-1] == "accept"
    family = 6 if "ipv6" in matches else 4
    l3 = matches.get("ipv6") or matches.get("ipv4") or {}
    outbound = direction == "from-device"
    peer_side, local_side = ("destination", "source") if outbound else ("source", "destination")
    net_text = l3.get(f"{peer_side}-ipv{family}-network")
    dns = l3.get(f"ietf-acldns:{'dst' if outbound else 'src'}-dnsname")
    l4_name = "tcp" if "tcp" in matches else "udp" if "udp" in matches else None
    l4 = matches.get(l4_name, {}) if l4_name else {}
    protocol = l3.get("protocol")
    if protocol is None and l4_name:
        protocol = 6 if l4_name == "tcp" else 17
    mud = matches.get("ietf-mud:mud") or {}
    return Rule(acl=acl, ace=str(ace.get("name")), direction=direction, accept=accept, family=family,
                protocol=int(protocol) if protocol is not None else None,
                peer_net=ipaddress.ip_network(net_text, strict=False) if net_text else None,
                peer_dns=str(dns).lower().rstrip(".") if dns else None,
                peer_port=_port(l4.get(f"{peer_side}-port"), where),
                local_port=_port(l4.get(f"{local_side}-port"), where),
                local_networks="local-networks" in mud,
                initiated=l4.get("ietf-mud:direction-initiated"),
                unresolved=tuple(c for c in MUD_CLASSES if c in mud))


def compile_policy(mud: dict[str, Any]) -> Policy:
    """Compile a (YANG-valid) MUD file; raise BadInput if it names ACLs it does not define."""
    top = mud.get("ietf-mud:mud") or {}
    acls = {a.get("name"): a for a in (mud.get("ietf-access-control-list:acls") or {}).get("acl", [])}
    policy = Policy(str(top.get("mud-url", "")))
    for key, direction, rules in (("from-device-policy", "from-device", policy.from_device),
                                  ("to-device-policy", "to-device", policy.to_device)):
        for ref in ((top.get(key) or {}).get("access-lists") or {}).get("access-list", []):
            acl = acls.get(ref.get("name"))
            if acl is None:
                raise BadInput(f"{key} names ACL {ref.get('name')!r}, which the file does not define")
            for ace in (acl.get("aces") or {}).get("ace", []):
                rules.append(_rule(str(acl["name"]), ace, direction))
    return policy
