"""Generate RFC 8520 MUD files from a vendor declaration and/or the flows a device was seen making.

A declaration lists the device's network needs under `answers.network_endpoints`, each
`{peer, protocol, port, initiated}`: `peer` is a DNS name, an IP address or network, `any`, or
`local-networks`; `initiated` is `from-device` (the device is the client, the default) or `to-device`.
The MUD URL comes from `answers.mud_url` or the caller.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

from iotmark.mitigate.untrusted import BadInput, load_json_file
from iotmark.model import Declaration

Initiated = Literal["from-device", "to-device"]
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17}
MAX_MUD_BYTES = 1024 * 1024
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, order=True)
class Endpoint:
    """One network need of a device: whom it talks to, over what, and which side opens the connection."""

    peer: str
    protocol: Literal["tcp", "udp"]
    port: int
    initiated: Initiated = "from-device"

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOL_NUMBERS:
            raise BadInput(f"endpoint {self.peer}: protocol must be tcp or udp, not {self.protocol!r}")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise BadInput(f"endpoint {self.peer}: port must be 1-65535, not {self.port!r}")
        if self.initiated not in ("from-device", "to-device"):
            raise BadInput(f"endpoint {self.peer}: initiated must be from-device or to-device")
        peer_kind(self.peer)


def peer_kind(peer: str) -> str:
    """Classify a peer as `any`, `local-networks`, `ipv4`, `ipv6` or `dns`, refusing anything else."""
    if peer in ("any", "local-networks"):
        return peer
    try:
        net = ipaddress.ip_network(peer, strict=False)
        return f"ipv{net.version}"
    except ValueError:
        pass
    if _DNS_NAME.match(peer.lower().rstrip(".")):
        return "dns"
    raise BadInput(f"endpoint peer {peer!r} is not a DNS name, an address, 'any' or 'local-networks'")


def endpoints_from_declaration(declaration: Declaration) -> list[Endpoint]:
    """The endpoints a vendor declared in `answers.network_endpoints`."""
    raw = declaration.answers.get("network_endpoints") or []
    if not isinstance(raw, list):
        raise BadInput("answers.network_endpoints must be a list")
    endpoints = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not {"peer", "protocol", "port"} <= item.keys():
            raise BadInput(f"answers.network_endpoints[{i}] needs peer, protocol and port")
        endpoints.append(Endpoint(str(item["peer"]), str(item["protocol"]).lower(), item["port"],  # type: ignore[arg-type]
                                  item.get("initiated", "from-device")))
    return sorted(set(endpoints))


def endpoints_from_flows(flows: Iterable[Any], device: str, names: Any = None,
                         max_endpoints: int = 256) -> list[Endpoint]:
    """Endpoints a device was seen using: peers by the DNS name the capture resolved them from, else by address.

    `names` maps a peer address to the names the capture's DNS answers gave it (see `flows.DnsNames`).
    Only TCP and UDP flows count; flows the device initiated give `from-device` endpoints on the peer's port,
    flows towards the device give `to-device` endpoints on the device's port.
    """
    found: set[Endpoint] = set()
    for flow in flows:
        if flow.proto not in (6, 17):
            continue
        protocol = "tcp" if flow.proto == 6 else "udp"
        if flow.src == device:
            peer, port, initiated = flow.dst, flow.dport, "from-device"
        elif flow.dst == device:
            peer, port, initiated = flow.src, flow.dport, "to-device"
        else:
            continue
        if not 0 < port < 65536:
            continue
        resolved = sorted(names.names_for(peer, flow.first)) if names is not None else []
        found.add(Endpoint(resolved[0] if resolved else peer, protocol, port, initiated))  # type: ignore[arg-type]
        if len(found) > max_endpoints:
            raise BadInput(f"device {device} talks to more than {max_endpoints} endpoints; "
                           "that is not a profile, check the capture")
    return sorted(found)


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:40] or "device"


def _address_match(kind: str, peer: str, side: str) -> dict[str, Any]:
    """The ipv4/ipv6 match naming the peer; `side` is `source` or `destination` (the peer's role)."""
    if kind == "dns":
        return {f"ietf-acldns:{'src' if side == 'source' else 'dst'}-dnsname": peer.lower().rstrip(".")}
    if kind in ("ipv4", "ipv6"):
        net = ipaddress.ip_network(peer, strict=False)
        return {f"{side}-{kind}-network": str(net)}
    return {}


def _aces_for(endpoint: Endpoint, index: int) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The from-device ACE, the to-device ACE and the address family for one endpoint."""
    kind = peer_kind(endpoint.peer)
    family = "ipv6" if kind == "ipv6" else "ipv4"
    number = PROTOCOL_NUMBERS[endpoint.protocol]
    # The peer is the destination of packets from the device and the source of packets to it.
    out_l3 = {"protocol": number, **_address_match(kind, endpoint.peer, "destination")}
    in_l3 = {"protocol": number, **_address_match(kind, endpoint.peer, "source")}
    if endpoint.initiated == "from-device":
        out_l4: dict[str, Any] = {"destination-port": {"operator": "eq", "port": endpoint.port}}
        in_l4: dict[str, Any] = {"source-port": {"operator": "eq", "port": endpoint.port}}
    else:
        out_l4 = {"source-port": {"operator": "eq", "port": endpoint.port}}
        in_l4 = {"destination-port": {"operator": "eq", "port": endpoint.port}}
    if endpoint.protocol == "tcp":
        # RFC 8520 section 2.1: only TCP carries which side may open the connection; both ACEs say it.
        out_l4["ietf-mud:direction-initiated"] = endpoint.initiated
        in_l4["ietf-mud:direction-initiated"] = endpoint.initiated
    name = f"ep{index}-{endpoint.protocol}-{endpoint.port}"
    out_matches: dict[str, Any] = {family: out_l3, endpoint.protocol: out_l4}
    in_matches: dict[str, Any] = {family: in_l3, endpoint.protocol: in_l4}
    if kind == "local-networks":
        out_matches["ietf-mud:mud"] = {"local-networks": [None]}
        in_matches["ietf-mud:mud"] = {"local-networks": [None]}
    accept = {"forwarding": "accept"}
    return ({"name": f"{name}-frdev", "matches": out_matches, "actions": accept},
            {"name": f"{name}-todev", "matches": in_matches, "actions": accept}, family)


def build_mud(*, mud_url: str, endpoints: Iterable[Endpoint], manufacturer: str, model: str,
              systeminfo: str | None = None, firmware_rev: str | None = None, documentation: str | None = None,
              is_supported: bool = True, cache_validity: int = 48,
              last_update: dt.datetime | None = None) -> dict[str, Any]:
    """A MUD file (RFC 8520 JSON) permitting exactly `endpoints`; everything else is denied by MUD semantics."""
    if not mud_url.startswith("https://"):
        raise BadInput("the MUD URL must be an https:// URL (RFC 8520 section 1.5)")
    stamp = (last_update or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    base = _slug(model)
    acls: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for index, endpoint in enumerate(sorted(set(endpoints))):
        out_ace, in_ace, family = _aces_for(endpoint, index)
        acls.setdefault(f"from-{family}-{base}", {"type": f"{family}-acl-type", "aces": []})["aces"].append(out_ace)
        acls.setdefault(f"to-{family}-{base}", {"type": f"{family}-acl-type", "aces": []})["aces"].append(in_ace)
    if not acls:
        # A device that needs no network still gets a policy; an ACL with no ACEs denies everything.
        acls = {f"from-ipv4-{base}": {"type": "ipv4-acl-type", "aces": []},
                f"to-ipv4-{base}": {"type": "ipv4-acl-type", "aces": []}}
    mud: dict[str, Any] = {"mud-version": 1, "mud-url": mud_url, "last-update": stamp.isoformat(),
                           "cache-validity": cache_validity, "is-supported": is_supported,
                           "systeminfo": (systeminfo or f"{manufacturer} {model}")[:200],
                           "mfg-name": manufacturer, "model-name": model}
    if firmware_rev:
        mud["firmware-rev"] = firmware_rev
    if documentation:
        mud["documentation"] = documentation
    mud["from-device-policy"] = {"access-lists": {"access-list": [{"name": n} for n in acls if n.startswith("from-")]}}
    mud["to-device-policy"] = {"access-lists": {"access-list": [{"name": n} for n in acls if n.startswith("to-")]}}
    acl_list = [{"name": name, "type": body["type"], "aces": {"ace": body["aces"]}} for name, body in acls.items()]
    return {"ietf-mud:mud": mud, "ietf-access-control-list:acls": {"acl": acl_list}}


def mud_from_declaration(declaration: Declaration, *, mud_url: str | None = None,
                         extra_endpoints: Iterable[Endpoint] = (), today: dt.date | None = None,
                         last_update: dt.datetime | None = None) -> dict[str, Any]:
    """A MUD file for the declared device: its declared endpoints plus any observed ones passed in."""
    target = declaration.target
    url = mud_url or declaration.answers.get("mud_url")
    if not url:
        raise BadInput("no MUD URL: pass --mud-url or declare answers.mud_url")
    support_end = declaration.support_period_end or target.support_until
    today = today or dt.date.today()
    # RFC 8520: firmware-rev MUST NOT be given when the device can update but its MUD URL cannot change,
    # so it is included only when the URL itself names this firmware version.
    firmware = target.firmware_version if target.firmware_version in str(url) else None
    documentation = declaration.vulnerability_disclosure.get("policy_url")
    return build_mud(mud_url=str(url), endpoints=[*endpoints_from_declaration(declaration), *extra_endpoints],
                     manufacturer=target.vendor, model=target.model,
                     systeminfo=target.description or target.label, firmware_rev=firmware,
                     documentation=str(documentation) if documentation else None,
                     is_supported=support_end is None or support_end >= today, last_update=last_update)


def load_mud(path: Path) -> Any:
    """Read a MUD file within size and depth limits (it is untrusted input)."""
    return load_json_file(path, max_bytes=MAX_MUD_BYTES)
