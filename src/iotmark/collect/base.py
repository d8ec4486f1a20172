"""What every collector shares: the check registry (data), the Collector protocol and Finding construction.

Each check is declared once in `collect/data/checks.yaml` or a collector's own `checks-<name>.yaml` with its id, title, evidence kind and the catalog
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


def _check_files() -> list[Any]:
    """checks.yaml plus one checks-<collector>.yaml per collector, in name order."""
    data = resources.files("iotmark.collect").joinpath("data")
    names = sorted(p.name for p in data.iterdir() if p.name.startswith("checks") and p.name.endswith(".yaml"))
    return [data.joinpath(n) for n in names]


@functools.lru_cache(maxsize=1)
def check_registry() -> dict[str, CheckSpec]:
    """All known checks, by id (collect/data/checks*.yaml)."""
    registry: dict[str, CheckSpec] = {}
    for file in _check_files():
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for entry in raw.get("checks", []):
            spec = CheckSpec.model_validate(entry)
            if spec.id in registry:
                raise ValueError(f"{file.name}: duplicate check id {spec.id!r}")
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
