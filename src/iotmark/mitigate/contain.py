"""Containment as nftables rulesets: quarantine a device to its MUD-permitted flows, or cut a bot's
telnet scanning and rate-limit it. The rules filter forwarded traffic on the gateway the device sits behind.

nftables cannot match DNS names, so each DNS-name ACE is turned into the addresses the caller resolved
(normally from the capture's DNS answers); a MUD manager refreshes these as answers change.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import subprocess
from typing import Iterable

from iotmark.mitigate.policy import Policy, PortRange, Rule
from iotmark.mitigate.untrusted import BadInput

log = logging.getLogger(__name__)
_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")
IMPLICIT = (("udp", 53), ("tcp", 53), ("udp", 67))


def _check(device: str, table: str) -> ipaddress.IPv4Address:
    if not _TABLE.match(table):
        raise BadInput(f"table name {table!r} must be letters, digits and _")
    try:
        address = ipaddress.ip_address(device)
    except ValueError:
        raise BadInput(f"device {device!r} is not an IP address") from None
    if address.version != 4:
        raise BadInput("containment rules are generated for IPv4 devices only")
    return address  # type: ignore[return-value]


def _ports(keyword: str, spec: PortRange | None) -> str:
    if spec is None:
        return ""
    low, high, negated = spec
    value = str(low) if low == high else f"{low}-{high}"
    return f" th {keyword} {'!= ' if negated else ''}{value}"


def _peer(rule: Rule, side: str, resolved: dict[str, list[str]]) -> str | None:
    """The nft match naming the peer, '' for any peer, None when the peer cannot be expressed (skip the rule)."""
    if rule.unresolved:
        return None
    if rule.peer_dns is not None:
        addresses = sorted({a for a in resolved.get(rule.peer_dns, []) if ipaddress.ip_address(a).version == 4})
        return f" ip {side} {{ {', '.join(addresses)} }}" if addresses else None
    if rule.peer_net is not None:
        return f" ip {side} {rule.peer_net}"
    if rule.local_networks:
        return f" ip {side} {{ 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 }}"
    return ""


def _rule_line(rule: Rule, device: str, resolved: dict[str, list[str]]) -> str | None:
    if rule.family != 4:
        return None
    outbound = rule.direction == "from-device"
    peer = _peer(rule, "daddr" if outbound else "saddr", resolved)
    if peer is None:
        return None
    line = f"ip {'saddr' if outbound else 'daddr'} {device}{peer}"
    if rule.protocol is not None:
        line += f" meta l4proto {rule.protocol}"
    if rule.protocol in (6, 17):
        line += _ports("dport" if outbound else "sport", rule.peer_port)
        line += _ports("sport" if outbound else "dport", rule.local_port)
    if rule.protocol == 6 and rule.initiated and rule.initiated != rule.direction:
        # This side may only answer: no bare SYN may open a connection in this direction.
        line += " tcp flags & (syn | ack) != syn"
    return f"{line} counter {'accept' if rule.accept else 'drop'} comment \"{rule.acl}/{rule.ace}\""


def quarantine_ruleset(policy: Policy, device: str, resolved: dict[str, list[str]] | None = None,
                       table: str = "iotmark_quarantine") -> str:
    """An nftables ruleset letting `device` make only the flows its MUD policy permits (plus DNS and DHCP)."""
    _check(device, table)
    resolved = {k.lower().rstrip("."): v for k, v in (resolved or {}).items()}
    lines = []
    for proto, port in IMPLICIT:
        lines.append(f"ip saddr {device} {proto} dport {port} counter accept comment \"implicit\"")
        lines.append(f"ip daddr {device} {proto} sport {port} counter accept comment \"implicit\"")
    skipped = 0
    for rule in [*policy.from_device, *policy.to_device]:
        line = _rule_line(rule, device, resolved)
        if line is None:
            skipped += 1
            log.info("ACE %s/%s cannot be expressed for %s (unresolved name or class); its traffic stays blocked",
                     rule.acl, rule.ace, device)
        else:
            lines.append(line)
    lines += [f"ip saddr {device} counter drop comment \"quarantine\"",
              f"ip daddr {device} counter drop comment \"quarantine\""]
    return _table(table, lines)


def bot_block_ruleset(device: str, ports: Iterable[int] = (23, 2323), rate_per_second: int = 50,
                      table: str = "iotmark_block") -> str:
    """An nftables ruleset dropping `device`'s connections to the scanning ports and rate-limiting the rest."""
    _check(device, table)
    port_list = sorted({int(p) for p in ports if 0 < int(p) < 65536})
    if not port_list:
        raise BadInput("no valid port to block")
    lines = [f"ip saddr {device} tcp dport {{ {', '.join(map(str, port_list))} }} counter drop comment \"scan ports\"",
             f"ip saddr {device} limit rate over {int(rate_per_second)}/second burst {int(rate_per_second)} packets "
             f"counter drop comment \"rate limit\""]
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
