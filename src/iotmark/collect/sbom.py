"""SBOM collector: reads a CycloneDX (1.4-1.6) or SPDX 2.3 JSON document, lists its components and
checks each versioned one against the offline vulnerability data.

The SBOM is untrusted input: size, component count and nesting depth are limited, and anything
malformed is reported as one SbomError line naming the file and the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from iotmark import __version__
from iotmark.inputs import InputError, JsonInputError, load_json_bytes, read_limited
from iotmark.model import Component, Evidence, EvidenceSource, Finding
from iotmark.vulns import Advisory, VersionError, VulnDB, identify

MAX_SBOM_BYTES = 64 * 1024 * 1024
MAX_COMPONENTS = 100_000
MAX_DEPTH = 64
CYCLONEDX_VERSIONS = ("1.4", "1.5", "1.6")
SPDX_VERSIONS = ("SPDX-2.3",)

VULN_PROVISIONS = [
    "etsi-en-303-645:5.2-3",
    "etsi-en-303-645:5.3-8",
    "cra-annex-i:I(2)(a)",
    "owasp-iot-top10:I5",
]
INVENTORY_PROVISIONS = ["cra-annex-i:II(1)"]
NO_VULN_PROVISIONS = ["etsi-en-303-645:5.2-3", "cra-annex-i:I(2)(a)"]
DISTRO_CONFIDENCE = 0.6


class SbomError(ValueError):
    """An SBOM that cannot be read; the message is one line: file, field, what was expected."""


class SbomResult(BaseModel):
    components: list[Component]
    findings: list[Finding]
    source: EvidenceSource
    format: str  # e.g. "CycloneDX 1.5", "SPDX-2.3"


@dataclass
class _Entry:
    component: Component
    ref: str  # bom-ref, SPDXID, or the JSON path when the document gives neither


# ---------------------------------------------------------------- reading with limits


def _load(path: Path) -> tuple[Any, bytes]:
    try:
        data = read_limited(path, MAX_SBOM_BYTES)
    except InputError as exc:
        raise SbomError(f"{path.name}: {exc}") from None
    try:
        doc = load_json_bytes(data, max_bytes=None, max_depth=MAX_DEPTH, allow_bom=True)
    except JsonInputError as exc:
        if exc.kind == "not_utf8":
            raise SbomError(f"{path.name}: not UTF-8 text; expected a JSON SBOM") from None
        if exc.kind == "too_deep":
            raise SbomError(f"{path.name}: JSON nested too deeply; expected at most {MAX_DEPTH} levels") from None
        at = f" at line {exc.line} column {exc.column}" if exc.kind == "syntax" else ""
        raise SbomError(f"{path.name}: not valid JSON ({exc.detail}{at})") from None
    return doc, data


def _opt_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SbomError(f"{where}: expected a string, got {type(value).__name__}")
    return value.strip() or None


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SbomError(f"{where}: expected a non-empty string")
    return value.strip()


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SbomError(f"{where}: expected a list, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- formats


def _cyclonedx(doc: dict[str, Any], file: str) -> list[_Entry]:
    spec = doc.get("specVersion")
    if spec not in CYCLONEDX_VERSIONS:
        raise SbomError(f"{file}: specVersion: expected one of {', '.join(CYCLONEDX_VERSIONS)}, got {spec!r}")
    entries: list[_Entry] = []

    def walk(items: list[Any], where: str) -> None:
        for i, item in enumerate(items):
            here = f"{where}[{i}]"
            if not isinstance(item, dict):
                raise SbomError(f"{file}: {here}: expected a component object")
            if len(entries) >= MAX_COMPONENTS:
                raise SbomError(f"{file}: components: more than {MAX_COMPONENTS} components; expected fewer")
            supplier = item.get("supplier")
            if supplier is not None and not isinstance(supplier, dict):
                raise SbomError(f"{file}: {here}.supplier: expected an object")
            component = Component(
                name=_name(item.get("name"), f"{file}: {here}.name"),
                version=_opt_str(item.get("version"), f"{file}: {here}.version"),
                purl=_opt_str(item.get("purl"), f"{file}: {here}.purl"),
                cpe=_opt_str(item.get("cpe"), f"{file}: {here}.cpe"),
                supplier=_opt_str((supplier or {}).get("name"), f"{file}: {here}.supplier.name"),
            )
            ref = _opt_str(item.get("bom-ref"), f"{file}: {here}.bom-ref") or here
            entries.append(_Entry(component, ref))
            walk(_list(item.get("components"), f"{file}: {here}.components"), f"{here}.components")

    walk(_list(doc.get("components"), f"{file}: components"), "components")
    return entries


def _spdx_supplier(value: str | None) -> str | None:
    if value is None or value.upper() == "NOASSERTION":
        return None
    for prefix in ("Organization:", "Person:", "Tool:"):
        if value.startswith(prefix):
            return value[len(prefix):].strip() or None
    return value


def _spdx(doc: dict[str, Any], file: str) -> list[_Entry]:
    version = doc.get("spdxVersion")
    if version not in SPDX_VERSIONS:
        raise SbomError(f"{file}: spdxVersion: expected {', '.join(SPDX_VERSIONS)}, got {version!r}")
    packages = _list(doc.get("packages"), f"{file}: packages")
    if len(packages) > MAX_COMPONENTS:
        raise SbomError(f"{file}: packages: more than {MAX_COMPONENTS} packages; expected fewer")
    entries = []
    for i, pkg in enumerate(packages):
        here = f"packages[{i}]"
        if not isinstance(pkg, dict):
            raise SbomError(f"{file}: {here}: expected a package object")
        purl = cpe = None
        for j, ref in enumerate(_list(pkg.get("externalRefs"), f"{file}: {here}.externalRefs")):
            if not isinstance(ref, dict):
                raise SbomError(f"{file}: {here}.externalRefs[{j}]: expected an object")
            category = str(ref.get("referenceCategory", "")).upper().replace("_", "-")
            rtype = ref.get("referenceType")
            locator = _opt_str(ref.get("referenceLocator"), f"{file}: {here}.externalRefs[{j}].referenceLocator")
            if category == "PACKAGE-MANAGER" and rtype == "purl" and purl is None:
                purl = locator
            elif category == "SECURITY" and rtype in ("cpe23Type", "cpe22Type") and cpe is None:
                cpe = locator
        component = Component(
            name=_name(pkg.get("name"), f"{file}: {here}.name"),
            version=_opt_str(pkg.get("versionInfo"), f"{file}: {here}.versionInfo"),
            purl=purl,
            cpe=cpe,
            supplier=_spdx_supplier(_opt_str(pkg.get("supplier"), f"{file}: {here}.supplier")),
        )
        entries.append(_Entry(component, _opt_str(pkg.get("SPDXID"), f"{file}: {here}.SPDXID") or here))
    return entries


def _parse(doc: Any, file: str) -> tuple[str, list[_Entry]]:
    if not isinstance(doc, dict):
        raise SbomError(f"{file}: top level: expected a JSON object (CycloneDX or SPDX document)")
    if "bomFormat" in doc:
        if doc["bomFormat"] != "CycloneDX":
            raise SbomError(f"{file}: bomFormat: expected 'CycloneDX', got {doc['bomFormat']!r}")
        return f"CycloneDX {doc.get('specVersion')}", _cyclonedx(doc, file)
    if "spdxVersion" in doc:
        return str(doc["spdxVersion"]), _spdx(doc, file)
    raise SbomError(f"{file}: bomFormat/spdxVersion: expected a CycloneDX (bomFormat) or SPDX (spdxVersion) JSON document")


# ---------------------------------------------------------------- findings


def _vulnerability_finding(entry: _Entry, advisory: Advisory, distro: bool, file: str) -> Finding:
    comp = entry.component
    severity = "critical" if advisory.known_exploited else advisory.severity
    notes = [advisory.summary.rstrip(".") + "." if advisory.summary else "",
             f"Affected versions: {advisory.describe_affected()}."]
    if advisory.known_exploited:
        notes.append("Listed as exploited in the wild (CISA KEV).")
    if distro:
        notes.append(f"Version {comp.version} is a distribution package; the distributor may have back-ported "
                     "the fix, so confirm with its security tracker.")
    if not advisory.verified and advisory.source == "embedded.yaml":
        notes.append("The affected range in the shipped data is not yet verified against the primary record.")
    return Finding(
        check="sbom.component.known_vulnerability",
        outcome="fail",
        severity=severity,
        title=f"{comp.name} {comp.version} has {advisory.cves[0]}",
        detail=" ".join(n for n in notes if n),
        evidence=Evidence(source=file, path=entry.ref, excerpt=f"{comp.name}@{comp.version}"),
        provisions=VULN_PROVISIONS,
        confidence=DISTRO_CONFIDENCE if distro else 1.0,
        kind="sbom",
        assessment="functional",
        cve=advisory.cves,
        component=comp.name,
    )


def _summary_findings(file: str, total: int, checked: int, vulnerable: bool, unchecked: list[str],
                      db_size: int) -> list[Finding]:
    findings = [Finding(
        check="sbom.components.inventory",
        outcome="pass" if total else "fail",
        severity="info" if total else "medium",
        title=f"SBOM lists {total} components" if total else "SBOM lists no components",
        detail="" if total else "An empty SBOM is not an inventory of the device's software.",
        evidence=Evidence(source=file),
        provisions=INVENTORY_PROVISIONS,
        kind="sbom",
        assessment="functional",
    )]
    if checked and not vulnerable:
        findings.append(Finding(
            check="sbom.components.no_known_vulnerability",
            outcome="pass",
            severity="info",
            title=f"None of the {checked} versioned components has a known vulnerability",
            detail=f"Checked against {db_size} advisories in the offline vulnerability data.",
            evidence=Evidence(source=file),
            provisions=NO_VULN_PROVISIONS,
            kind="sbom",
            assessment="functional",
        ))
    if unchecked:
        shown = unchecked[:50] + ([f"... and {len(unchecked) - 50} more"] if len(unchecked) > 50 else [])
        findings.append(Finding(
            check="sbom.component.unversioned",
            outcome="not_tested",
            severity="info",
            title=f"{len(unchecked)} components could not be checked for known vulnerabilities",
            detail="Without a usable version these components cannot be matched: " + "; ".join(shown),
            evidence=Evidence(source=file, excerpt=", ".join(shown)[:1000]),
            provisions=NO_VULN_PROVISIONS,
            kind="sbom",
            assessment="functional",
        ))
    return findings


def collect_sbom(path: Path, db: VulnDB | None = None) -> SbomResult:
    """Read an SBOM, list its components and report known vulnerabilities. Raises SbomError on bad input."""
    path = Path(path)
    doc, data = _load(path)
    fmt, entries = _parse(doc, path.name)
    db = db if db is not None else VulnDB.load()

    findings: list[Finding] = []
    unchecked: list[str] = []
    checked = 0
    for entry in entries:
        comp = entry.component
        if comp.version is None:
            unchecked.append(f"{comp.name} ({entry.ref}): no version")
            continue
        ident = identify(comp.name, comp.version, comp.purl, comp.cpe)
        try:
            if not ident.version:
                raise VersionError("nothing left after removing the distribution revision")
            advisories = db.match_identified(ident)
        except VersionError:
            unchecked.append(f"{comp.name} ({entry.ref}): version {comp.version!r} could not be read")
            continue
        checked += 1
        findings += [_vulnerability_finding(entry, adv, ident.distro, path.name) for adv in advisories]

    vulnerable = bool(findings)
    findings += _summary_findings(path.name, len(entries), checked, vulnerable, unchecked, len(db))
    source = EvidenceSource(
        kind="sbom",
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        collected_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
        tool=f"iotmark {__version__}",
    )
    return SbomResult(components=[e.component for e in entries], findings=findings, source=source, format=fmt)
