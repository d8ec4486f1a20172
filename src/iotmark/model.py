"""Core types shared by every stage: the contract between collectors, assessment, certificates and reports.

Everything here is plain pydantic v2 data. Stages read and write these types only, so any stage can run
alone on a saved bundle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "iotmark/1"

Outcome = Literal["fail", "pass", "not_tested", "error"]
Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITY_ORDER: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
EvidenceKind = Literal["declaration", "sbom", "firmware", "probe", "manual"]

DEFAULT_STANDARD = "etsi-en-303-645"


class Strict(BaseModel):
    """Base for our types: unknown fields are an error, so typos in user files are caught."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def canonical_json(data: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no whitespace, UTF-8) used for hashing and signing."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DeviceClass(Strict):
    """A risk tier of devices, loaded from catalog/data/device-classes.yaml."""

    id: str
    name: str
    tier: Literal["low", "moderate", "high", "critical"]
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    standard: str = DEFAULT_STANDARD
    minimum_level: int = Field(ge=0)
    certificate_validity_days: int = Field(default=730, gt=0)
    required_evidence: list[EvidenceKind] = Field(default_factory=list)


class Target(Strict):
    """The device under assessment: which model, which firmware, which risk class, supported until when."""

    vendor: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=200)
    firmware_version: str = Field(min_length=1, max_length=100)
    device_class: str = Field(min_length=1, max_length=100)
    hardware_version: str | None = Field(default=None, max_length=100)
    support_until: dt.date | None = None
    description: str = Field(default="", max_length=2000)

    @property
    def label(self) -> str:
        return f"{self.vendor} {self.model} {self.firmware_version}"


class Evidence(BaseModel):
    """Where a finding was seen. All fields optional; collectors fill what applies. Secrets are masked."""

    model_config = ConfigDict(extra="allow")

    path: str | None = None
    line: int | None = None
    offset: int | None = None
    address: str | None = None
    port: int | None = None
    protocol: str | None = None
    banner: str | None = None
    excerpt: str | None = None
    source: str | None = None  # file the evidence came from (declaration.yaml, sbom.cdx.json, image name)


class Finding(Strict):
    """A fact with evidence, never a verdict. `provisions` are qualified catalog ids, `standard:provision`."""

    check: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_\-]+)+$")
    outcome: Outcome
    severity: Severity = "info"
    title: str
    detail: str = ""
    evidence: Evidence = Field(default_factory=Evidence)
    provisions: list[str] = Field(default_factory=list)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    kind: EvidenceKind = "manual"
    # TS 103 701 distinguishes conceptual (documentation) from functional (tested) assessment.
    assessment: Literal["conceptual", "functional"] = "functional"
    cve: list[str] = Field(default_factory=list)
    component: str | None = None

    @field_validator("provisions")
    @classmethod
    def _qualified(cls, value: list[str]) -> list[str]:
        return [p if ":" in p else f"{DEFAULT_STANDARD}:{p}" for p in value]

    @property
    def key(self) -> str:
        """Stable identity of a finding inside a bundle, used to trace verdicts back to findings."""
        ev = self.evidence
        parts = (ev.path, ev.line, ev.address, ev.port, self.component, ",".join(self.cve) or None)
        where = "|".join(str(x) for x in parts if x is not None)
        return f"{self.check}@{where}" if where else self.check


class ProvisionAnswer(Strict):
    """The vendor's implementation conformance statement for one provision."""

    applies: bool = True
    justification: str | None = Field(default=None, max_length=4000)
    implemented: bool | None = None
    how: str | None = Field(default=None, max_length=4000)


class Declaration(Strict):
    """Vendor declaration (implementation conformance statement plus the answers TS 103 701's IXITs ask for)."""

    schema_: str = Field(default="iotmark-declaration/1", alias="schema")
    target: Target
    support_period_end: dt.date | None = None
    vulnerability_disclosure: dict[str, Any] = Field(default_factory=dict)
    update_mechanism: dict[str, Any] = Field(default_factory=dict)
    data_categories: list[str] = Field(default_factory=list)
    answers: dict[str, Any] = Field(default_factory=dict)
    provisions: dict[str, ProvisionAnswer] = Field(default_factory=dict)


class Component(Strict):
    name: str
    version: str | None = None
    purl: str | None = None
    cpe: str | None = None
    supplier: str | None = None
    # How sure the collector is of name and version (1.0 from an SBOM or package database, lower from a
    # version string found in a binary), and where in the image it was seen.
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    found_in: list[str] = Field(default_factory=list)


class EvidenceSource(Strict):
    """One input that went into a bundle, with its digest so the certificate pins exactly what was seen."""

    kind: EvidenceKind
    name: str
    sha256: str
    collected_at: dt.datetime
    tool: str = ""


class Bundle(Strict):
    """The evidence bundle: a target, findings from every collector, the declaration and components."""

    schema_: str = Field(default=SCHEMA_VERSION, alias="schema")
    target: Target
    findings: list[Finding] = Field(default_factory=list)
    declaration: Declaration | None = None
    components: list[Component] = Field(default_factory=list)
    sources: list[EvidenceSource] = Field(default_factory=list)
    created: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(microsecond=0))

    def digest(self) -> str:
        """Content address: sha256 of the canonical JSON."""
        return sha256_hex(canonical_json(self.model_dump(mode="json", by_alias=True)))

    def save(self, path: Path) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        return self.digest()

    def merge(self, other: "Bundle") -> "Bundle":
        """Combine evidence about the same target (e.g. firmware + probe + declaration)."""
        if (other.target.vendor, other.target.model) != (self.target.vendor, self.target.model):
            raise ValueError(f"cannot merge bundles of different devices: {self.target.label} and {other.target.label}")
        return Bundle(
            target=self.target,
            findings=self.findings + other.findings,
            declaration=self.declaration or other.declaration,
            components=self.components + [c for c in other.components if c not in self.components],
            sources=self.sources + other.sources,
        )


class VerdictValue(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    INCONCLUSIVE = "INCONCLUSIVE"


class Verdict(Strict):
    """The result for one provision, with everything that decided it."""

    provision: str
    status: str  # the catalog status (M, R, M C (n)...)
    verdict: VerdictValue
    reason: str
    findings: list[str] = Field(default_factory=list)  # Finding.key values
    answers: list[str] = Field(default_factory=list)  # declaration paths, e.g. provisions.5.1-1, answers.x
    test_cases: dict[str, str] = Field(default_factory=dict)  # TS 103 701 test case id -> PASS/FAIL/N/A/INCONCLUSIVE


class LevelResult(Strict):
    level: int
    name: str
    reached: bool
    missing: list[str] = Field(default_factory=list)


class Assessment(Strict):
    schema_: str = Field(default="iotmark-assessment/1", alias="schema")
    target: Target
    device_class: DeviceClass
    standard: str
    standard_version: str
    verdicts: list[Verdict]
    level: int
    level_name: str
    required_level: int
    meets_class: bool
    levels: list[LevelResult] = Field(default_factory=list)
    # other standard -> its provisions whose every *equivalent* provision here passed (deemed covered)
    also_covers: dict[str, list[str]] = Field(default_factory=dict)
    # other standard -> provisions whose every *partially* mapped provision here passed (supporting evidence only)
    also_supports: dict[str, list[str]] = Field(default_factory=dict)
    risk: dict[str, Any] = Field(default_factory=dict)
    tool_versions: dict[str, str] = Field(default_factory=dict)
    bundle_digest: str
    evidence_digests: list[str] = Field(default_factory=list)
    assessed_at: dt.datetime

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in VerdictValue}
        for verdict in self.verdicts:
            out[verdict.verdict.value] += 1
        return out

    def digest(self) -> str:
        return sha256_hex(canonical_json(self.model_dump(mode="json", by_alias=True)))


class Certificate(Strict):
    """Signed statement: this assessment reached this level, valid between these dates."""

    schema_: str = Field(default="iotmark-certificate/1", alias="schema")
    id: str
    target: Target
    device_class: str
    standard: str
    standard_version: str
    level: int
    level_name: str
    meets_class: bool
    assessment_digest: str
    bundle_digest: str
    summary: list[str] = Field(default_factory=list)
    issued: dt.date
    expires: dt.date
    issuer: str
    key_id: str
    verify_url: str
    signature: str | None = None

    def signed_payload(self) -> bytes:
        """The bytes the signature covers: every field except the signature, canonical JSON."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"signature"})
        return canonical_json(data)
