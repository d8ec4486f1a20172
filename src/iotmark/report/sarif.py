"""SARIF 2.1.0 report, for code-scanning dashboards.

Choices (what dashboards such as GitHub code scanning show well, within the SARIF spec):
- One rule per distinct check id in the bundle, passed checks included, so the rule list says what was checked.
  `defaultConfiguration.level` and `properties.security-severity` follow the worst severity seen for the check;
  tags carry "security", the evidence kinds and the provisions.
- Results only for checks that did not pass. `fail` -> kind "fail", level error (critical/high), warning
  (medium), note (low/info). `not_tested` and `error` -> kind "open" (the tool could not decide); the SARIF
  spec (result.level) requires level "none" for any kind but "fail", so they never pose as defects. Errors are
  also listed as tool execution notifications, where dashboards show tool health.
- Locations: a firmware path is relative to the image root (uriBaseId IMAGEROOT), so viewers never open
  the assessor's own /etc/shadow. Network evidence becomes a logical location `address:port`.
- `partialFingerprints["iotmarkFindingKey/v1"]` is sha256 of Finding.key: stable across runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from iotmark.model import SEVERITY_ORDER, Assessment, Bundle, Certificate, Finding
from iotmark.report import facts

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
IMAGE_ROOT = "IMAGEROOT"
FINGERPRINT_KEY = "iotmarkFindingKey/v1"

LEVEL_FOR_SEVERITY = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub ranks alerts by a CVSS-like score in the rule's `security-severity`.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
REPORTED_OUTCOMES = ("fail", "not_tested", "error")


def _worst(findings: list[Finding]) -> str:
    return max((f.severity for f in findings), key=lambda s: SEVERITY_ORDER[s])


def _rule(check: str, findings: list[Finding]) -> dict[str, Any]:
    first = findings[0]
    worst = _worst(findings)
    provisions = sorted({p for f in findings for p in f.provisions})
    kinds = sorted({f.kind for f in findings})
    about = first.detail or first.title
    bears_on = f"Bears on: {', '.join(provisions)}." if provisions else "Bears on no catalog provision."
    return {
        "id": check,
        "shortDescription": {"text": first.title},
        "fullDescription": {"text": about},
        "help": {"text": f"{about}\n\n{bears_on}\nEvidence from: {', '.join(kinds)}."},
        "defaultConfiguration": {"level": LEVEL_FOR_SEVERITY[worst]},
        "properties": {
            "tags": ["security", "iotmark", *kinds, *provisions],
            "security-severity": SECURITY_SEVERITY[worst],
            "provisions": provisions,
        },
    }


def _location(finding: Finding, device: str) -> dict[str, Any]:
    ev = finding.evidence
    endpoint = facts.endpoint(ev)
    if endpoint:
        name = endpoint + (ev.path or "")
        scheme = (ev.protocol or "tcp").lower()
        return {"logicalLocations": [{"name": name, "fullyQualifiedName": f"{scheme}://{name}", "kind": "resource"}]}
    if ev.path or ev.source:
        if ev.path and finding.kind == "firmware":
            artifact = {"uri": quote(ev.path.lstrip("/")), "uriBaseId": IMAGE_ROOT}
        else:
            artifact = {"uri": quote(ev.path or ev.source or "")}
        physical: dict[str, Any] = {"artifactLocation": artifact}
        if ev.line is not None and ev.line >= 1:
            physical["region"] = {"startLine": ev.line}
        elif ev.offset is not None and ev.offset >= 0:
            physical["region"] = {"byteOffset": ev.offset}
        return {"physicalLocation": physical}
    # Nowhere more precise than the device itself (e.g. a missing feature).
    return {"logicalLocations": [{"name": device, "kind": "module"}]}


def _message(finding: Finding) -> str:
    return f"{finding.title}\n{finding.detail}" if finding.detail else finding.title


def _result(finding: Finding, rule_index: int, device: str) -> dict[str, Any]:
    failed = finding.outcome == "fail"
    properties: dict[str, Any] = {
        "outcome": finding.outcome,
        "severity": finding.severity,
        "confidence": finding.confidence,
        "provisions": finding.provisions,
        "evidenceKind": finding.kind,
        "findingKey": finding.key,
    }
    if finding.cve:
        properties["cve"] = finding.cve
    if finding.component:
        properties["component"] = finding.component
    return {
        "ruleId": finding.check,
        "ruleIndex": rule_index,
        "kind": "fail" if failed else "open",
        "level": LEVEL_FOR_SEVERITY[finding.severity] if failed else "none",
        "message": {"text": _message(finding)},
        "locations": [_location(finding, device)],
        "partialFingerprints": {FINGERPRINT_KEY: facts.fingerprint(finding)},
        "properties": properties,
    }


def build(bundle: Bundle, assessment: Assessment | None = None) -> dict[str, Any]:
    """The SARIF log as a dict (one run)."""
    by_check: dict[str, list[Finding]] = {}
    for finding in bundle.findings:
        by_check.setdefault(finding.check, []).append(finding)
    checks = sorted(by_check)
    index = {check: i for i, check in enumerate(checks)}
    device = bundle.target.label

    results = [
        _result(f, index[f.check], device)
        for f in facts.by_severity(bundle.findings)
        if f.outcome in REPORTED_OUTCOMES
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "endTimeUtc": facts.document_time(bundle, assessment).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    notifications = [
        {"level": "error", "message": {"text": _message(f)}, "descriptor": {"id": f.check}}
        for f in bundle.findings
        if f.outcome == "error"
    ]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    run_properties: dict[str, Any] = {
        "target": bundle.target.model_dump(mode="json"),
        "bundleDigest": bundle.digest(),
    }
    if assessment is not None:
        run_properties.update(
            standard=f"{assessment.standard} {assessment.standard_version}",
            level=assessment.level,
            requiredLevel=assessment.required_level,
            meetsClass=assessment.meets_class,
            assessmentDigest=assessment.digest(),
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": facts.TOOL_NAME,
                        "version": facts.tool_version(),
                        "informationUri": facts.INFORMATION_URI,
                        "rules": [_rule(check, by_check[check]) for check in checks],
                    }
                },
                "automationDetails": {"id": f"iotmark/{bundle.target.vendor} {bundle.target.model}/"},
                "originalUriBaseIds": {
                    IMAGE_ROOT: {"description": {"text": "Root directory of the unpacked firmware image."}}
                },
                "invocations": [invocation],
                "results": results,
                "properties": run_properties,
            }
        ],
    }


def write(out: Path, bundle: Bundle, assessment: Assessment | None, certificate: Certificate | None) -> None:
    out.write_text(json.dumps(build(bundle, assessment), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
