"""CycloneDX 1.6 VEX: the device, its software components, and the CVEs the findings name.

The document depends on the bundle alone (time = bundle.created, serial number = uuid5 of the bundle digest),
so the same evidence always gives the same bytes and the same serial number.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from iotmark.model import SEVERITY_ORDER, Assessment, Bundle, Certificate, Component, Finding
from iotmark.report import facts

SPEC_VERSION = "1.6"
DEVICE_REF = "iotmark-device"
SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:iotmark:vex")
EXPLOITABLE_CONFIDENCE = 0.8


def serial_number(bundle: Bundle) -> str:
    return f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, bundle.digest())}"


def _component_refs(components: list[Component]) -> list[str]:
    """A unique bom-ref per component: its purl when that is unique, else a name@version label."""
    refs: list[str] = []
    for i, c in enumerate(components):
        ref = c.purl or f"component:{c.name}@{c.version or 'unknown'}"
        if ref in refs:
            ref = f"{ref}#{i}"
        refs.append(ref)
    return refs


def _component(c: Component, ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "library", "bom-ref": ref, "name": c.name}
    if c.version:
        out["version"] = c.version
    if c.supplier:
        out["supplier"] = {"name": c.supplier}
    if c.cpe:
        out["cpe"] = c.cpe
    if c.purl:
        out["purl"] = c.purl
    if c.found_in:
        out["evidence"] = {"occurrences": [{"location": where} for where in c.found_in]}
    if c.confidence is not None:
        out.setdefault("evidence", {})["identity"] = [{"field": "version" if c.version else "name",
                                                      "confidence": round(c.confidence, 2)}]
    return out


def _match(name: str, components: list[Component], refs: list[str]) -> tuple[str, str | None] | None:
    """(bom-ref, version) of the component a finding names, by purl, cpe, name@version or name."""
    for c, ref in zip(components, refs):
        labels = {c.purl, c.cpe, c.name, f"{c.name}@{c.version}", f"{c.name} {c.version}", ref}
        if name in labels:
            return ref, c.version
    return None


def _analysis_state(findings: list[Finding]) -> str:
    sure = any(f.outcome == "fail" and f.confidence >= EXPLOITABLE_CONFIDENCE for f in findings)
    return "exploitable" if sure else "in_triage"


def _vulnerability(cve: str, findings: list[Finding], bundle: Bundle, refs: list[str]) -> dict[str, Any]:
    state = _analysis_state(findings)
    status = "affected" if state == "exploitable" else "unknown"
    affects: dict[str, str | None] = {}
    for f in findings:
        hit = _match(f.component, bundle.components, refs) if f.component else None
        ref, version = hit if hit else (DEVICE_REF, bundle.target.firmware_version)
        affects.setdefault(ref, version)
    worst = max((f.severity for f in findings), key=lambda s: SEVERITY_ORDER[s])
    vuln: dict[str, Any] = {"bom-ref": f"vulnerability:{cve}", "id": cve}
    if cve.upper().startswith("CVE-"):
        vuln["source"] = {"name": "NVD", "url": f"https://nvd.nist.gov/vuln/detail/{cve}"}
    vuln.update(
        {
            # The rating is iotmark's (from the finding), not NVD's, so its source says so.
            "ratings": [{"source": {"name": facts.TOOL_NAME}, "severity": worst, "method": "other"}],
            "description": findings[0].title,
            "detail": "\n".join(f.detail for f in findings if f.detail) or findings[0].title,
            "analysis": {
                "state": state,
                "detail": "; ".join(
                    f"{f.check} {f.outcome} (confidence {f.confidence:.2f}) at {facts.location(f.evidence) or 'device'}"
                    for f in findings
                ),
            },
            "affects": [
                {"ref": ref, **({"versions": [{"version": v, "status": status}]} if v else {})}
                for ref, v in affects.items()
            ],
            "properties": [{"name": "iotmark:finding", "value": f.key} for f in findings],
        }
    )
    return vuln


def build(bundle: Bundle) -> dict[str, Any]:
    """The CycloneDX 1.6 BOM (with vulnerabilities) as a dict."""
    target = bundle.target
    refs = _component_refs(bundle.components)
    device: dict[str, Any] = {
        "type": "device",
        "bom-ref": DEVICE_REF,
        "name": target.model,
        "version": target.firmware_version,
        "manufacturer": {"name": target.vendor},
        "properties": [{"name": "iotmark:device_class", "value": target.device_class}],
    }
    if target.hardware_version:
        device["properties"].append({"name": "iotmark:hardware_version", "value": target.hardware_version})

    by_cve: dict[str, list[Finding]] = {}
    for finding in bundle.findings:
        for cve in finding.cve:
            by_cve.setdefault(cve, []).append(finding)

    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(bundle),
        "version": 1,
        "metadata": {
            "timestamp": facts.as_utc(bundle.created).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": facts.TOOL_NAME, "version": facts.tool_version()}]},
            "component": device,
            "properties": [{"name": "iotmark:bundle_digest", "value": bundle.digest()}],
        },
        "components": [_component(c, ref) for c, ref in zip(bundle.components, refs)],
        "dependencies": [{"ref": DEVICE_REF, "dependsOn": refs}],
        "vulnerabilities": [_vulnerability(cve, fs, bundle, refs) for cve, fs in by_cve.items()],
    }
    return bom


def write(out: Path, bundle: Bundle, assessment: Assessment | None, certificate: Certificate | None) -> None:
    out.write_text(json.dumps(build(bundle), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
