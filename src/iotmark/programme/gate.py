"""The release gate's verdict: does a firmware build meet its class, and did it regress against the last release?

A build fails the gate when its assessment does not meet its device class (level below the class's minimum, or
evidence the class requires is missing), or, given the last release as a baseline, when a provision that passed
now fails, a failing finding of severity high or above is new, or the level dropped. The SARIF log carries one
result per failing finding (with `baselineState` when there is a baseline) so forges show them as code-scanning
alerts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from iotmark.inputs import InputError, describe_validation_error, read_structured
from iotmark.model import SEVERITY_ORDER, Assessment, Bundle, Finding

NEW_FINDING_SEVERITY = "high"  # a new failing finding at or above this severity is a regression
MAX_BASELINE_BYTES = 256 * 1024 * 1024
SATISFIED = ("PASS", "NOT_APPLICABLE")


@dataclass
class Baseline:
    """The last release: an assessment, and its bundle when a bundle was given (findings to compare)."""

    assessment: Assessment
    bundle: Bundle | None = None


class GateResult(BaseModel):
    passed: bool
    level: int
    level_name: str
    required_level: int
    device_class: str
    reasons: list[str] = Field(default_factory=list)  # why the gate failed (empty when it passed)
    notes: list[str] = Field(default_factory=list)  # facts worth reading that do not fail the gate
    new_failures: list[str] = Field(default_factory=list)  # identities of failing findings absent from the baseline
    baseline_level: int | None = None


def read_baseline(path: Path) -> tuple[Bundle | None, Assessment | None]:
    """A baseline file: an evidence bundle (to be assessed) or a saved assessment; one-line errors."""
    data = read_structured(Path(path), MAX_BASELINE_BYTES)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a bundle or an assessment (a JSON object)")
    is_assessment = str(data.get("schema", "")).startswith("iotmark-assessment")
    try:
        if is_assessment:
            return None, Assessment.model_validate(data)
        return Bundle.model_validate(data), None
    except ValidationError as exc:
        raise InputError(describe_validation_error(path, exc)) from None


def finding_identity(finding: Finding) -> str:
    """Who a finding is across builds: the check and where it points, without line numbers (they move)."""
    ev = finding.evidence
    where = [str(x) for x in (ev.path, ev.port, finding.component, ",".join(finding.cve) or None) if x is not None]
    return f"{finding.check}@{'|'.join(where)}" if where else finding.check


def _failing(bundle: Bundle) -> dict[str, Finding]:
    return {finding_identity(f): f for f in bundle.findings if f.outcome == "fail"}


def _level_reason(assessment: Assessment) -> list[str]:
    out = []
    if assessment.level < assessment.required_level:
        needed = next((lv for lv in assessment.levels if lv.level == assessment.required_level), None)
        missing = [m for m in (needed.missing if needed else []) if not m.startswith("level ")]
        shown = "; ".join(missing[:6]) + (f" (+{len(missing) - 6} more)" if len(missing) > 6 else "")
        out.append(f"level {assessment.level} ({assessment.level_name}) is below the {assessment.required_level} that "
                   f"class {assessment.device_class.id} requires" + (f": {shown}" if shown else ""))
    elif not assessment.meets_class:
        out.append(f"class {assessment.device_class.id} requires evidence of kinds "
                   f"{', '.join(assessment.device_class.required_evidence)}; some are missing")
    return out


def judge(bundle: Bundle, assessment: Assessment, baseline: Baseline | None = None) -> GateResult:
    """The gate's verdict on one assessed build, with the reasons in plain lines."""
    reasons = _level_reason(assessment)
    notes: list[str] = []
    new_failures: list[str] = []
    if baseline is not None:
        before = baseline.assessment
        if assessment.level < before.level:
            reasons.append(f"level dropped from {before.level} ({before.level_name}) to {assessment.level}")
        was = {v.provision: v.verdict.value for v in before.verdicts}
        for verdict in assessment.verdicts:
            if verdict.verdict.value == "FAIL" and was.get(verdict.provision) in SATISFIED:
                reasons.append(f"provision {verdict.provision} was {was[verdict.provision]} and now fails: "
                               f"{verdict.reason}")
        if baseline.bundle is not None:
            old = _failing(baseline.bundle)
            for identity, finding in _failing(bundle).items():
                if identity in old:
                    continue
                new_failures.append(identity)
                if SEVERITY_ORDER[finding.severity] >= SEVERITY_ORDER[NEW_FINDING_SEVERITY]:
                    where = f" ({finding.evidence.path})" if finding.evidence.path else ""
                    reasons.append(f"new {finding.severity} finding {finding.check}{where}: {finding.title}")
                else:
                    notes.append(f"new {finding.severity} finding {finding.check}: {finding.title}")
            fixed = sorted(set(old) - set(_failing(bundle)))
            if fixed:
                notes.append(f"{len(fixed)} failing finding(s) of the baseline are gone")
        else:
            notes.append("baseline is an assessment without findings: new findings cannot be told apart")
    return GateResult(passed=not reasons, level=assessment.level, level_name=assessment.level_name,
                      required_level=assessment.required_level, device_class=assessment.device_class.id,
                      reasons=reasons, notes=notes, new_failures=new_failures,
                      baseline_level=baseline.assessment.level if baseline else None)


def gate_sarif(bundle: Bundle, assessment: Assessment, result: GateResult, has_baseline: bool) -> dict[str, Any]:
    """SARIF 2.1.0: the report's log, keeping one result per failing finding, marked new or unchanged."""
    from iotmark.report import sarif

    log = sarif.build(bundle, assessment)
    run = log["runs"][0]
    new = set(result.new_failures)
    failing = [f for f in bundle.findings if f.outcome == "fail"]
    by_key: dict[str, Finding] = {f.key: f for f in failing}
    kept = []
    for item in run["results"]:
        finding = by_key.get(item["properties"]["findingKey"])
        if item["kind"] != "fail" or finding is None:
            continue
        if has_baseline:
            item["baselineState"] = "new" if finding_identity(finding) in new else "unchanged"
        kept.append(item)
    run["results"] = kept
    run["properties"]["gate"] = result.model_dump(mode="json")
    return log


def write_sarif(path: Path, log: dict[str, Any]) -> None:
    path.write_text(json.dumps(log, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
