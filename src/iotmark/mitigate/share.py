"""Sharing what we learned as STIX 2.1: detections, indicators and incidents as bundles (stix2), published to
and fetched from TAXII 2.1 collections (taxii2-client).

Object ids are derived from content (a SHA-1 name hash in UUID version-4 form, since STIX 2.1 asks SDOs and
SROs for v4 ids), so exporting the same detection twice gives the same ids and a TAXII server keeps one copy.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from typing import Any, Iterable

import stix2

from iotmark.mitigate.incidents import Incident, hosts_from_detection
from iotmark.mitigate.untrusted import BadInput, parse_json

NAMESPACE = uuid.UUID("6d1f4c1e-5a7b-4c38-9b52-1c0f3e2a9d77")  # iotmark's own namespace for STIX ids
MAX_FETCHED_OBJECTS = 100_000
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


class ShareError(BadInput):
    """Sharing failed (bad object, TAXII server refused or unreachable): one line saying why."""


def _id(kind: str, key: str) -> str:
    named = uuid.uuid5(NAMESPACE, f"{kind}:{key}")
    return f"{kind}--{uuid.UUID(bytes=named.bytes, version=4)}"


def producer() -> stix2.Identity:
    return stix2.Identity(id=_id("identity", "iotmark"), name="iotmark", identity_class="system",
                          created="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def pattern_for(value: str) -> str:
    """A STIX pattern for an IPv4/IPv6 address or network, a domain name, a URL or a SHA-256 hash."""
    value = value.strip()
    try:
        net = ipaddress.ip_network(value, strict=False)
        kind = "ipv4-addr" if net.version == 4 else "ipv6-addr"
        shown = str(net.network_address) if net.num_addresses == 1 else str(net)
        return f"[{kind}:value = '{shown}']"
    except ValueError:
        pass
    if _SHA256.match(value):
        return f"[file:hashes.'SHA-256' = '{value.lower()}']"
    if re.match(r"^https?://[^\s]+$", value):
        return f"[url:value = '{_quote(value)}']"
    if _DOMAIN.match(value):
        return f"[domain-name:value = '{value.lower()}']"
    raise ShareError(f"indicator {value!r} is not an IP address, domain name, URL or SHA-256 hash")


def indicator(value: str, *, name: str, description: str = "", types: Iterable[str] = ("malicious-activity",),
              confidence: int | None = None) -> stix2.Indicator:
    pattern = pattern_for(value)
    extra = {"confidence": confidence} if confidence is not None else {}
    return stix2.Indicator(id=_id("indicator", pattern), name=name, description=description or name,
                           pattern=pattern, pattern_type="stix", indicator_types=list(types),
                           valid_from="2026-01-01T00:00:00Z", created_by_ref=producer().id, **extra)


def botnet_malware() -> stix2.Malware:
    return stix2.Malware(id=_id("malware", "mirai-like"), name="Mirai-like IoT botnet", is_family=True,
                         malware_types=["bot", "worm", "ddos"], created_by_ref=producer().id,
                         created="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z",
                         description="IoT malware that scans telnet, logs in with default credentials and floods.")


def _indicates(ind: stix2.Indicator, target: Any) -> stix2.Relationship:
    return stix2.Relationship(id=_id("relationship", f"{ind.id}>indicates>{target.id}"), relationship_type="indicates",
                              source_ref=ind.id, target_ref=target.id, created_by_ref=producer().id)


def detection_objects(report: Any) -> list[Any]:
    """Indicators for the hosts an `iotmark detect --json` report flags (and the C2 servers they beacon to)."""
    objects: list[Any] = []
    malware = botnet_malware()
    for host in hosts_from_detection(report):
        behaviours = ", ".join(host["behaviours"])
        ind = indicator(host["address"], name=f"IoT host behaving as a botnet member: {host['address']}",
                        description=f"verdict {host['verdict']}; behaviours: {behaviours}",
                        types=["compromised"], confidence=round(host["confidence"] * 100))
        objects.append(ind)
        if host["verdict"] == "botnet":
            objects += [malware, _indicates(ind, malware)]
        for item in host["evidence"] if isinstance(host["evidence"], list) else []:
            target = item.get("evidence", {}).get("target") if isinstance(item, dict) else None
            if item.get("kind") == "c2_beaconing" and isinstance(target, str):
                c2 = indicator(target, name=f"Botnet command-and-control server {target}",
                               description=f"beaconed to by {host['address']}", types=["malicious-activity"],
                               confidence=round(float(item.get("confidence", 0)) * 100))
                objects += [c2, malware, _indicates(c2, malware)]
    return objects


def incident_objects(incident: Incident) -> list[Any]:
    """A STIX Incident for one of ours, with indicators for its affected hosts related to it."""
    done = sum(1 for t in incident.tasks if t.done)
    inc = stix2.Incident(
        id=_id("incident", incident.id), name=incident.title, created=incident.opened_at,
        modified=max(e.at for e in incident.timeline), created_by_ref=producer().id,
        description=(f"{incident.playbook} incident, {incident.status}; EU CRA category "
                     f"{incident.cra_category.replace('_', ' ')}; {done} of {len(incident.tasks)} tasks done"),
        external_references=[{"source_name": "iotmark", "external_id": incident.id}])
    objects: list[Any] = [inc]
    for obj in detection_objects({"hosts": incident.affected_hosts}):
        objects.append(obj)
        if obj.type == "indicator":
            objects.append(stix2.Relationship(id=_id("relationship", f"{obj.id}>related-to>{inc.id}"),
                                              relationship_type="related-to", source_ref=obj.id, target_ref=inc.id,
                                              created_by_ref=producer().id))
    return objects


def make_bundle(objects: Iterable[Any]) -> stix2.Bundle:
    """A bundle of the objects (each id once) plus the producer identity."""
    unique: dict[str, Any] = {}
    for obj in [producer(), *objects]:
        unique.setdefault(obj["id"] if isinstance(obj, dict) else obj.id, obj)
    return stix2.Bundle(objects=list(unique.values()))


def load_bundle(data: bytes, allow_custom: bool = False) -> dict[str, Any]:
    """A STIX bundle from untrusted bytes, parsed within limits and checked by stix2 (custom content only
    when `allow_custom`: what we publish is plain STIX, what others share may carry x_ properties)."""
    value = parse_json(data)
    if not isinstance(value, dict) or value.get("type") != "bundle":
        raise ShareError("not a STIX bundle: expected an object with type 'bundle'")
    try:
        stix2.parse(value, allow_custom=allow_custom)
    except (stix2.exceptions.STIXError, ValueError) as exc:
        raise ShareError(f"not a valid STIX 2.1 bundle: {str(exc).splitlines()[0]}") from None
    return value


# --- TAXII 2.1 ------------------------------------------------------------------------------------------------

def _collection(url: str, collection: str, user: str | None, password: str | None) -> Any:
    """The collection of the API root at `url` whose id or title is `collection`."""
    from taxii2client.v21 import ApiRoot

    root = ApiRoot(url, user=user, password=password)
    try:
        found = [c for c in root.collections if collection in (c.id, c.title)]
    except Exception as exc:  # requests and taxii2client raise many types; all mean the same to the user
        raise ShareError(f"TAXII server at {url}: {_reason(exc)}") from None
    if not found:
        raise ShareError(f"no collection {collection!r} at {url}")
    return found[0]


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"HTTP {response.status_code} {response.reason}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def publish(bundle: dict[str, Any], url: str, collection: str, user: str | None = None,
            password: str | None = None) -> dict[str, Any]:
    """Add a bundle's objects to a TAXII 2.1 collection; the server's status counts."""
    coll = _collection(url, collection, user, password)
    if not coll.can_write:
        raise ShareError(f"collection {collection!r} at {url} is not writable for this user")
    envelope = json.dumps({"objects": bundle["objects"]})
    try:
        status = coll.add_objects(envelope, poll_interval=1, timeout=30)
    except Exception as exc:
        raise ShareError(f"TAXII server at {url}: {_reason(exc)}") from None
    return {"status": status.status, "total": status.total_count, "success": status.success_count,
            "failure": status.failure_count, "pending": status.pending_count}


def fetch(url: str, collection: str, user: str | None = None, password: str | None = None,
          added_after: str | None = None, max_objects: int = MAX_FETCHED_OBJECTS) -> dict[str, Any]:
    """The objects of a TAXII 2.1 collection as one STIX bundle (at most `max_objects`)."""
    from taxii2client.v21 import as_pages

    coll = _collection(url, collection, user, password)
    if not coll.can_read:
        raise ShareError(f"collection {collection!r} at {url} is not readable for this user")
    objects: list[dict[str, Any]] = []
    filters = {"added_after": added_after} if added_after else {}
    try:
        for page in as_pages(coll.get_objects, per_request=100, **filters):
            objects += page.get("objects", [])
            if len(objects) > max_objects:
                raise ShareError(f"collection {collection!r} has more than {max_objects} objects")
    except ShareError:
        raise
    except Exception as exc:
        raise ShareError(f"TAXII server at {url}: {_reason(exc)}") from None
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    return load_bundle(json.dumps(bundle).encode("utf-8"), allow_custom=True)
