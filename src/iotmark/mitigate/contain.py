"""Containment as nftables rulesets: quarantine a device to its MUD-permitted flows, or cut a bot's
telnet scanning and rate-limit it. The rules filter forwarded traffic on the gateway the device sits behind.

The table is of family inet, so one ruleset covers IPv4 and IPv6: a device is named by all its addresses,
ipv4 ACLs apply to its IPv4 addresses and ipv6 ACLs to its IPv6 ones. nftables cannot match DNS names, so each
DNS-name ACE is turned into the addresses the caller resolved (normally from the capture's DNS answers; A records
for ipv4 ACLs, AAAA for ipv6 ACLs); a MUD manager refreshes these as answers change.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import subprocess
from typing import Iterable, Sequence

from iotmark.mitigate.policy import Policy, PortRange, Rule
from iotmark.mitigate.untrusted import BadInput

log = logging.getLogger(__name__)
_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")
IMPLICIT = (("udp", 53), ("tcp", 53), ("udp", 67))
IMPLICIT_V6 = (("udp", 53), ("tcp", 53), ("udp", 547))  # DNS, DHCPv6 (RFC 8415: clients send to port 547)
# ICMPv6 errors that IPv6 needs in transit (RFC 4890 section 4.3.1); path MTU discovery breaks without them.
ICMPV6_TRANSIT = "destination-unreachable, packet-too-big, time-exceeded, parameter-problem"
LOCAL_NETWORKS = {4: "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16",
                  6: "fc00::/7, fe80::/10"}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Devices = str | Sequence[str]


def _check(device: Devices, table: str) -> list[Address]:
    """The device's addresses (one or more, IPv4 and/or IPv6), refusing anything that is not an address."""
    if not _TABLE.match(table):
        raise BadInput(f"table name {table!r} must be letters, digits and _")
    addresses = []
    for text in [device] if isinstance(device, str) else list(device):
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            raise BadInput(f"device {text!r} is not an IP address") from None
    if not addresses:
        raise BadInput("no device address given")
    return sorted(set(addresses), key=lambda a: (a.version, a))


def _address(text: str, name: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise BadInput(f"{text!r} given for {name} is not an IP address") from None


def _ip(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _ports(keyword: str, spec: PortRange | None) -> str:
    if spec is None:
        return ""
    low, high, negated = spec
    value = str(low) if low == high else f"{low}-{high}"
    return f" th {keyword} {'!= ' if negated else ''}{value}"


def _peer(rule: Rule, side: str, resolved: dict[str, list[str]]) -> str | None:
    """The nft match naming the peer, '' for any peer, None when the peer cannot be expressed (skip the rule)."""
    ip = _ip(rule.family)
    if rule.unresolved:
        return None
    if rule.peer_dns is not None:
        # An ipv4 ACL's name means its A records, an ipv6 ACL's name its AAAA records.
        addresses = sorted({a for a in resolved.get(rule.peer_dns, []) if ipaddress.ip_address(a).version == rule.family})
        return f" {ip} {side} {{ {', '.join(addresses)} }}" if addresses else None
    if rule.peer_net is not None:
        return f" {ip} {side} {rule.peer_net}" if rule.peer_net.version == rule.family else None
    if rule.local_networks:
        return f" {ip} {side} {{ {LOCAL_NETWORKS[rule.family]} }}"
    return ""


def _rule_line(rule: Rule, device: Address, resolved: dict[str, list[str]]) -> str | None:
    if rule.family != device.version:
        return None
    outbound = rule.direction == "from-device"
    peer = _peer(rule, "daddr" if outbound else "saddr", resolved)
    if peer is None:
        return None
    line = f"{_ip(device.version)} {'saddr' if outbound else 'daddr'} {device}{peer}"
    if rule.protocol is not None:
        line += f" meta l4proto {rule.protocol}"
    if rule.protocol in (6, 17):
        line += _ports("dport" if outbound else "sport", rule.peer_port)
        line += _ports("sport" if outbound else "dport", rule.local_port)
    if rule.protocol == 6 and rule.initiated and rule.initiated != rule.direction:
        # This side may only answer: no bare SYN may open a connection in this direction.
        line += " tcp flags & (syn | ack) != syn"
    return f"{line} counter {'accept' if rule.accept else 'drop'} comment \"{rule.acl}/{rule.ace}\""


def _implicit(device: Address) -> list[str]:
    """DNS and DHCP (and ICMPv6 errors) a quarantined device keeps, so it can still resolve and get an address."""
    ip = _ip(device.version)
    lines = []
    for proto, port in IMPLICIT if device.version == 4 else IMPLICIT_V6:
        lines.append(f"{ip} saddr {device} {proto} dport {port} counter accept comment \"implicit\"")
        lines.append(f"{ip} daddr {device} {proto} sport {port} counter accept comment \"implicit\"")
    if device.version == 6:
        for side in ("saddr", "daddr"):
            lines.append(f"ip6 {side} {device} icmpv6 type {{ {ICMPV6_TRANSIT} }} counter accept comment \"implicit\"")
    return lines


def quarantine_ruleset(policy: Policy, device: Devices, resolved: dict[str, list[str]] | None = None,
                       table: str = "iotmark_quarantine") -> str:
    """An nftables ruleset letting `device` (its IPv4 and/or IPv6 addresses) make only the flows its MUD
    policy permits (plus DNS and DHCP); everything else to or from those addresses is dropped."""
    addresses = _check(device, table)
    resolved = {name.lower().rstrip("."): [_address(a, name) for a in found] for name, found in (resolved or {}).items()}
    lines = []
    for address in addresses:
        lines += _implicit(address)
    for rule in [*policy.from_device, *policy.to_device]:
        usable = [line for address in addresses if (line := _rule_line(rule, address, resolved)) is not None]
        if not usable:
            log.info("ACE %s/%s cannot be expressed for %s (other address family, unresolved name or class); "
                     "its traffic stays blocked", rule.acl, rule.ace, ", ".join(map(str, addresses)))
        lines += usable
    for address in addresses:
        lines += [f"{_ip(address.version)} saddr {address} counter drop comment \"quarantine\"",
                  f"{_ip(address.version)} daddr {address} counter drop comment \"quarantine\""]
    return _table(table, lines)


def bot_block_ruleset(device: Devices, ports: Iterable[int] = (23, 2323), rate_per_second: int = 50,
                      table: str = "iotmark_block") -> str:
    """An nftables ruleset dropping `device`'s connections to the scanning ports and rate-limiting the rest,
    over IPv4 and IPv6 alike (one rate limit per address)."""
    addresses = _check(device, table)
    port_list = sorted({int(p) for p in ports if 0 < int(p) < 65536})
    if not port_list:
        raise BadInput("no valid port to block")
    lines = []
    for address in addresses:
        ip = _ip(address.version)
        lines += [f"{ip} saddr {address} tcp dport {{ {', '.join(map(str, port_list))} }} counter drop "
                  f"comment \"scan ports\"",
                  f"{ip} saddr {address} limit rate over {int(rate_per_second)}/second burst {int(rate_per_second)} "
                  f"packets counter drop comment \"rate limit\""]
    return _table(table, lines)


def _table(name: str, lines: list[str]) -> str:
    body = "\n".join(f"\t\t{line}" for line in lines)
    # Delete-then-define makes applying the same ruleset twice replace it instead of appending.
    return (f"table inet {name}\ndelete table inet {name}\n"
            f"table inet {name} {{\n\tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n"
            f"{body}\n\t}}\n}}\n")


def apply_ruleset(ruleset: str, netns: str | None = None, check_only: bool = False) -> None:
    """Load a ruleset with `nft -f -` (in network namespace `netns` if given); raise RuntimeError on failure."""
    command = ["nft", *(["-c"] if check_only else []), "-f", "-"]
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
    run = subprocess.run(command, input=ruleset, capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        raise RuntimeError(f"nft refused the ruleset: {run.stderr.strip().splitlines()[0] if run.stderr else ''}")
