"""Scenarios priced from an evidence bundle (or an assessment): the device class picks the library scenarios,
the findings (or failed provisions) adjust them through data/findings.yaml, and "after fixing" drops the
weaknesses, so a failed provision shows up as money and each fix can be ranked by value per cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from iotmark.inputs import InputError, describe_validation_error, read_structured
from iotmark.risk.controls import Multiply, apply_changes, cost_benefit_row, rank_controls, rank_rows
from iotmark.risk.library import Fleet, controls_library, findings_map, scenarios_for
from iotmark.risk.ontology import Scenario

log = logging.getLogger(__name__)


@dataclass
class DeviceEvidence:
    """What the risk stage needs from a bundle or an assessment."""

    target: dict[str, Any]
    device_class: str
    failed_checks: set[str] = field(default_factory=set)
    passed_checks: set[str] = field(default_factory=set)
    failed_provisions: set[str] = field(default_factory=set)


def read_evidence(path: Path) -> DeviceEvidence:
    """Load a bundle.json (findings) or an assessment.json (verdicts) with one-line errors."""
    from iotmark.model import Assessment, Bundle

    data = read_structured(Path(path), max_bytes=256 * 1024 * 1024)
    if not isinstance(data, dict):
        raise InputError(f"{path}: (top level): expected a bundle or an assessment mapping")
    is_assessment = str(data.get("schema", "")).startswith("iotmark-assessment")
    try:
        model = (Assessment if is_assessment else Bundle).model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(path, exc)) from None
    target = model.target.model_dump(mode="json")
    if isinstance(model, Assessment):
        # Verdicts name provisions of the assessed standard; findings.yaml uses qualified ids (standard:provision).
        failed = {v.provision if ":" in v.provision else f"{model.standard}:{v.provision}"
                  for v in model.verdicts if v.verdict.value == "FAIL"}
        return DeviceEvidence(target, model.target.device_class, failed_provisions=failed)
    return DeviceEvidence(target, model.target.device_class,
                          failed_checks={f.check for f in model.findings if f.outcome == "fail"},
                          passed_checks={f.check for f in model.findings if f.outcome == "pass"})


def present_weaknesses(evidence: DeviceEvidence) -> list[dict[str, Any]]:
    """Weaknesses from findings.yaml that the evidence shows, with what triggered each."""
    out = []
    for weakness in findings_map().get("weaknesses", []):
        triggers = sorted(evidence.failed_checks & set(weakness.get("fail_checks", []))) + sorted(
            evidence.failed_provisions & set(weakness.get("fail_provisions", [])))
        if triggers:
            out.append({**weakness, "triggered_by": triggers})
    return out


def present_strengths(evidence: DeviceEvidence) -> list[dict[str, Any]]:
    out = []
    for strength in findings_map().get("strengths", []):
        triggers = sorted(evidence.passed_checks & set(strength.get("pass_checks", [])))
        if triggers:
            out.append({**strength, "triggered_by": triggers})
    return out


def apply_effects(scenarios: list[Scenario], items: list[dict[str, Any]]) -> list[Scenario]:
    """Scenarios with the effects of the given weaknesses/strengths applied (effects on absent scenarios skip)."""
    by_name = {s.name: s for s in scenarios}
    for item in items:
        for effect in item.get("effects", []):
            scenario = by_name.get(effect["scenario"])
            if scenario is not None:
                change = {effect["node"]: Multiply(multiply=effect["multiply"])}
                by_name[scenario.name] = apply_changes(scenario, change, f"findings.yaml: {item['id']}")
    return [by_name[s.name] for s in scenarios]


@dataclass
class PricedDevice:
    """A device's scenarios as found and after fixing, and the weaknesses/strengths behind the difference."""

    evidence: DeviceEvidence
    fleet: Fleet
    before: list[Scenario]
    after: list[Scenario]
    weaknesses: list[dict[str, Any]]
    strengths: list[dict[str, Any]]


def price_device(evidence: DeviceEvidence, fleet: Fleet) -> PricedDevice:
    """Build the as-found and after-fixing scenarios of one device model."""
    base = scenarios_for(evidence.device_class, fleet, vendor=evidence.target.get("vendor"))
    if not base:
        raise InputError(f"device class {evidence.device_class!r}: no library scenario applies")
    weaknesses, strengths = present_weaknesses(evidence), present_strengths(evidence)
    after = apply_effects(base, strengths)
    before = apply_effects(after, weaknesses)
    log.info("%s: %d weaknesses, %d strengths", evidence.target.get("model"), len(weaknesses), len(strengths))
    return PricedDevice(evidence, fleet, before, after, weaknesses, strengths)


def rank_fixes(device: PricedDevice, iterations: int, seed: int, baseline: dict[str, float]) -> list[dict[str, Any]]:
    """Each weakness fixed alone: its risk reduction against its fix cost, best first."""
    from iotmark.risk.simulate import simulate

    rows = []
    for weakness in device.weaknesses:
        others = [w for w in device.weaknesses if w["id"] != weakness["id"]]
        fixed = apply_effects(device.after, others)
        touched = [i for i, (a, b) in enumerate(zip(device.before, fixed)) if a != b]
        before = sum(baseline[device.before[i].name] for i in touched)
        after = sum(simulate(fixed[i], iterations, seed).mean for i in touched)
        fix = weakness.get("fix", {})
        rows.append({**cost_benefit_row(fix.get("title", weakness["id"]), float(fix.get("cost", 0.0)),
                                        [fixed[i].name for i in touched], before, after),
                     "weakness": weakness["id"]})
    return rank_rows(rows)


def rank_library_controls(device: PricedDevice, iterations: int, seed: int,
                          baseline: dict[str, float]) -> list[dict[str, Any]]:
    """The controls library ranked on the as-found scenarios (controls touching none of them are left out)."""
    controls = [c for c in controls_library() if any(c.applies(s) for s in device.before)]
    return rank_controls(controls, device.before, iterations, seed, baseline)
