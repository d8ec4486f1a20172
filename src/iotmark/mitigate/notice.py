"""The manufacturer → network-operator notice: which models and firmware are affected, the indicators to look
for, and the MUD policy and containment rules to apply (JSON, rendered to Markdown)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from iotmark.mitigate.contain import bot_block_ruleset, quarantine_ruleset
from iotmark.mitigate.incidents import hosts_from_detection
from iotmark.mitigate.policy import Policy, Rule, compile_policy
from iotmark.mitigate.share import pattern_for
from iotmark.mitigate.untrusted import BadInput

PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"}


def _ports(spec: Any) -> str | None:
    if spec is None:
        return None
    low, high, negated = spec
    text = str(low) if low == high else f"{low}-{high}"
    return f"not {text}" if negated else text


def _permitted(rule: Rule) -> dict[str, Any]:
    return {"direction": rule.direction, "action": "accept" if rule.accept else "drop",
            "protocol": PROTOCOLS.get(rule.protocol, rule.protocol) if rule.protocol is not None else "any",
            "peer": rule.peer_dns or (str(rule.peer_net) if rule.peer_net else
                                      "local networks" if rule.local_networks else "any"),
            "peer_port": _ports(rule.peer_port), "device_port": _ports(rule.local_port)}


def parse_affected(values: list[str]) -> list[dict[str, Any]]:
    """MODEL=FW1,FW2 (or a bare MODEL, meaning all firmware) into [{"model", "firmware"}]."""
    affected: dict[str, list[str]] = {}
    for value in values:
        model, _, versions = value.partition("=")
        if not model.strip():
            raise BadInput(f"--affected {value!r}: give MODEL or MODEL=FIRMWARE[,FIRMWARE...]")
        affected.setdefault(model.strip(), []).extend(v.strip() for v in versions.split(",") if v.strip())
    return [{"model": m, "firmware": sorted(set(f)) or ["all"]} for m, f in affected.items()]


def build_notice(*, manufacturer: str, affected: list[dict[str, Any]], summary: str,
                 detection: Any = None, indicators: list[str] | None = None, mud: dict[str, Any] | None = None,
                 devices: list[str] | None = None, resolved: dict[str, list[str]] | None = None,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    """The notice as data; containment rules are given for each device address named or flagged."""
    if not affected:
        raise BadInput("name at least one affected model (--affected MODEL=FIRMWARE)")
    found: list[dict[str, Any]] = []
    hosts = hosts_from_detection(detection) if detection is not None else []
    for host in hosts:
        found.append({"value": host["address"], "pattern": pattern_for(host["address"]), "role": "compromised device",
                      "behaviours": host["behaviours"]})
        for item in host["evidence"] if isinstance(host["evidence"], list) else []:
            target = item.get("evidence", {}).get("target") if isinstance(item, dict) else None
            if item.get("kind") == "c2_beaconing" and isinstance(target, str):
                found.append({"value": target, "pattern": pattern_for(target), "role": "command and control",
                              "behaviours": ["c2_beaconing"]})
    for value in indicators or []:
        found.append({"value": value, "pattern": pattern_for(value), "role": "indicator", "behaviours": []})
    policy: Policy | None = compile_policy(mud) if mud is not None else None
    targets = list(dict.fromkeys([*(devices or []), *(h["address"] for h in hosts if h["verdict"] == "botnet")]))
    containment = []
    for device in targets:
        if policy is not None:
            containment.append({"device": device, "kind": "quarantine to MUD-permitted flows",
                                "nftables": quarantine_ruleset(policy, device, resolved or {})})
        containment.append({"device": device, "kind": "block telnet scanning and rate-limit",
                            "nftables": bot_block_ruleset(device)})
    mud_part = None
    if policy is not None and mud is not None:
        canonical = json.dumps(mud, sort_keys=True, separators=(",", ":")).encode("utf-8")
        mud_part = {"url": policy.mud_url, "sha256": hashlib.sha256(canonical).hexdigest(),
                    "permitted": [_permitted(r) for r in policy.from_device + policy.to_device]}
    issued = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    return {"notice": "manufacturer-to-network-operator", "issued_at": issued.isoformat(),
            "manufacturer": manufacturer, "summary": summary, "affected": affected,
            "indicators": list({i["value"]: i for i in found}.values()), "mud": mud_part, "containment": containment}


def notice_markdown(notice: dict[str, Any]) -> str:
    lines = [f"# Security notice from {notice['manufacturer']} to network operators", "",
             f"Issued {notice['issued_at']}. {notice['summary']}", "", "## Affected products", ""]
    lines += [f"- {a['model']}: firmware {', '.join(a['firmware'])}" for a in notice["affected"]]
    lines += ["", "## Indicators", ""]
    lines += [f"- `{i['pattern']}` ({i['role']}{': ' + ', '.join(i['behaviours']) if i['behaviours'] else ''})"
              for i in notice["indicators"]] or ["- none"]
    if notice["mud"]:
        lines += ["", "## MUD policy to enforce", "", f"MUD URL: {notice['mud']['url']} "
                  f"(sha256 {notice['mud']['sha256']})", "", "| direction | action | protocol | peer | peer port |",
                  "|---|---|---|---|---|"]
        lines += [f"| {p['direction']} | {p['action']} | {p['protocol']} | {p['peer']} | {p['peer_port'] or 'any'} |"
                  for p in notice["mud"]["permitted"]]
    lines += ["", "## Containment (nftables, on the gateway in front of the device)", ""]
    for rule in notice["containment"]:
        lines += [f"### {rule['device']}: {rule['kind']}", "", "```", rule["nftables"].rstrip("\n"), "```", ""]
    if not notice["containment"]:
        lines += ["No device addresses were given; run `iotmark mitigate contain` per affected device.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
