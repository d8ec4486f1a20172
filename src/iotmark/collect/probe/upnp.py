"""UPnP/SSDP: the device description anyone can read, and gateway services that let any client open
port mappings (AddPortMapping, which has no authentication in UPnP IGD). Nothing is changed on the device."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urljoin, urlsplit

from iotmark.collect.probe.http import request
from iotmark.collect.probe.session import Service, Session, printable
from iotmark.model import Finding

SERVICES = ("ssdp",)
DEFAULT_CHECK = "probe.upnp.exposed"
GATEWAY_SERVICES = ("WANIPConnection", "WANPPPConnection")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(body: bytes) -> ET.Element | None:
    # Untrusted XML: size is capped by the HTTP reader; a document type declaration (entity tricks) is refused.
    if b"<!DOCTYPE" in body[:4096].upper() or b"<!ENTITY" in body.upper():
        return None
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        return None


async def _fetch(session: Session, url: str) -> ET.Element | None:
    parts = urlsplit(url)
    if parts.hostname != session.address or parts.scheme != "http":
        return None  # the probe talks to the address given and nothing else
    port = parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    reply = await request(session, Service(port, "tcp", "http"), path or "/")
    return _xml(reply.body) if reply is not None and reply.status == 200 else None


async def run(session: Session, service: Service) -> list[Finding]:
    """Read the description named in the SSDP reply, then look for port-mapping actions."""
    match = re.search(rb"(?im)^location:\s*(\S+)", service.reply)
    if not match:
        return [session.not_tested(DEFAULT_CHECK, "SSDP reply names no description (LOCATION)", service)]
    location = match.group(1).decode("latin-1")
    if urlsplit(location).hostname != session.address:
        return [session.not_tested(DEFAULT_CHECK, f"description is on another host ({printable(location)}); "
                                                  "not fetched", service)]
    root = await _fetch(session, location)
    if root is None:
        return [session.not_tested(DEFAULT_CHECK, f"description at {printable(location)} could not be read", service)]
    texts = {_local(e.tag): (e.text or "").strip() for e in root.iter()}
    name = " ".join(t for t in (texts.get("manufacturer"), texts.get("modelName"), texts.get("modelNumber")) if t)
    findings = [session.finding(DEFAULT_CHECK, "fail", f"description readable without authentication: {name}",
                                service, path=location, excerpt=printable(name or texts.get("friendlyName", "")))]
    for svc in (e for e in root.iter() if _local(e.tag) == "service"):
        fields = {_local(c.tag): (c.text or "").strip() for c in svc}
        if not any(g in fields.get("serviceType", "") for g in GATEWAY_SERVICES):
            continue
        scpd = await _fetch(session, urljoin(location, fields.get("SCPDURL", "")))
        actions = {(e.text or "").strip() for e in (scpd.iter() if scpd is not None else []) if _local(e.tag) == "name"}
        if "AddPortMapping" in actions:
            findings.append(session.finding(
                "probe.upnp.port_mapping", "fail",
                f"{fields['serviceType']} offers AddPortMapping at {fields.get('controlURL', '?')}; UPnP has no "
                "authentication, so any client on the network can open the firewall", service,
                path=fields.get("controlURL"), excerpt=fields["serviceType"]))
            break
    return findings
