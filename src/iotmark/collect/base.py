"""What every collector shares: the check registry (data), the Collector protocol and Finding construction.

Each check is declared once in `collect/data/checks.yaml` with its id, title, evidence kind and the catalog
provisions it bears on. Collectors create findings through `make_finding`, so titles and provision mappings
live in data, not scattered through code.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field

from iotmark.model import Bundle, EvidenceKind, Finding, Outcome, Severity


class CheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    kind: EvidenceKind
    assessment: Literal["conceptual", "functional"] = "functional"
    severity: Severity = "medium"
    provisions: list[str] = Field(default_factory=list)
    description: str = ""


class Collector(Protocol):
    """A source of evidence. `collect` never raises for bad evidence: it reports `error`/`not_tested` findings."""

    name: str

    def collect(self, source: Path, **options: Any) -> Bundle: ...


def _data_text(name: str) -> str:
    return resources.files("iotmark.collect").joinpath("data", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def check_registry() -> dict[str, CheckSpec]:
    """All known checks, by id (collect/data/checks.yaml)."""
    raw = yaml.safe_load(_data_text("checks.yaml")) or {}
    registry: dict[str, CheckSpec] = {}
    for entry in raw.get("checks", []):
        spec = CheckSpec.model_validate(entry)
        if spec.id in registry:
            raise ValueError(f"checks.yaml: duplicate check id {spec.id!r}")
        registry[spec.id] = spec
    return registry


def make_finding(
    check: str,
    outcome: Outcome,
    detail: str = "",
    *,
    title: str | None = None,
    severity: Severity | None = None,
    evidence: dict[str, Any] | None = None,
    provisions: list[str] | None = None,
    **extra: Any,
) -> Finding:
    """Build a Finding for a registered check; title, kind, assessment and provisions default from the registry."""
    spec = check_registry().get(check)
    if spec is None:
        raise KeyError(f"check {check!r} is not registered in collect/data/checks.yaml")
    if severity is None:
        severity = spec.severity if outcome == "fail" else "info"
    return Finding(
        check=check,
        outcome=outcome,
        severity=severity,
        title=title or spec.title,
        detail=detail,
        evidence=evidence or {},
        provisions=list(provisions if provisions is not None else spec.provisions),
        kind=spec.kind,
        assessment=spec.assessment,
        **extra,
    )
