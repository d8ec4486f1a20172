"""Findings + declaration -> one Verdict per provision of the chosen standard, following TS 103 701's logic.

TS 103 701 assesses each provision through test cases that are either *conceptual* (the vendor's
documentation, here the declaration) or *functional* (the device is tested, here firmware/probe/SBOM/lab
findings). A provision passes only when every one of its test cases has passing evidence of its kind and
nothing failed; missing evidence gives INCONCLUSIVE, never PASS. The vendor's conformance statement decides
NOT_APPLICABLE (a stated condition is false, or a justified exception to a non-mandatory provision).
"""

from __future__ import annotations

import datetime as dt
import platform
from collections import defaultdict
from collections.abc import Iterable

from iotmark import __version__
from iotmark.catalog import Provision, Standard, device_class as load_device_class, load_mappings, load_standard
from iotmark.collect.declaration import conditions as declared_conditions
from iotmark.model import (
    SEVERITY_ORDER,
    Assessment,
    Bundle,
    DeviceClass,
    Finding,
    ProvisionAnswer,
    Verdict,
    VerdictValue,
)
from iotmark.assess.levels import also_covers, compute_levels, evidence_kinds

MIN_CONFIDENCE = 0.5  # below this a failing finding asks for review instead of deciding FAIL
HUB = "etsi-en-303-645"


def _index_findings(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    index: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        for provision in finding.provisions:
            index[provision].append(finding)
    return index


def _neighbours(standard_id: str) -> dict[str, set[str]]:
    """For each provision of `standard_id`, the qualified ids of other standards mapped to it."""
    out: dict[str, set[str]] = defaultdict(set)
    for mapping in load_mappings():
        if mapping.relation not in ("equivalent", "partial"):
            continue
        for mine, other in ((mapping.from_, mapping.to), (mapping.to, mapping.from_)):
            if mine.split(":", 1)[0] == standard_id:
                out[mine].add(other)
    return out


def _relevant(qualified: str, index: dict[str, list[Finding]], neighbours: dict[str, set[str]]) -> list[Finding]:
    seen: dict[int, Finding] = {}  # by identity: distinct findings may share a check id and location
    for key in [qualified, *sorted(neighbours.get(qualified, ()))]:
        for finding in index.get(key, []):
            seen.setdefault(id(finding), finding)
    return list(seen.values())


def _ics_answer(bundle: Bundle, standard_id: str, provision_id: str) -> tuple[ProvisionAnswer | None, str]:
    if bundle.declaration is None:
        return None, ""
    for key in (provision_id, f"{standard_id}:{provision_id}"):
        if key in bundle.declaration.provisions:
            return bundle.declaration.provisions[key], f"provisions.{key}"
    return None, ""


def _worst(findings: list[Finding]) -> Finding:
    return max(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.confidence))


def judge_provision(
    standard: Standard,
    provision: Provision,
    relevant: list[Finding],
    answer: ProvisionAnswer | None,
    answer_path: str,
    conds: dict[str, tuple[bool, str]],
) -> Verdict:
    """The verdict for one provision, with the findings and answers that decided it."""
    qualified = f"{standard.id}:{provision.id}"
    keys = sorted({f.key for f in relevant})
    base = dict(provision=provision.id, status=provision.status)
    no_cases = {tc.id: "N/A" for tc in provision.test_cases}

    if provision.conditional and provision.condition in conds:
        holds, path = conds[provision.condition]
        if not holds:
            return Verdict(**base, verdict=VerdictValue.NOT_APPLICABLE, answers=[path], test_cases=no_cases,
                           reason=f"condition '{provision.condition}' does not hold for this device ({path})")

    if answer is not None and not answer.applies:
        justification = (answer.justification or "").strip()
        if not justification:
            return Verdict(**base, verdict=VerdictValue.FAIL, answers=[answer_path], findings=keys,
                           reason="declared not applicable without a justification")
        # A feature marker (EN 303 645 V3 "F (x)") limits a provision to devices with that feature, like a condition.
        if provision.mandatory and not provision.conditional and not provision.features:
            return Verdict(**base, verdict=VerdictValue.FAIL, answers=[answer_path], findings=keys,
                           reason="declared not applicable, but the provision is mandatory without condition")
        return Verdict(**base, verdict=VerdictValue.NOT_APPLICABLE, answers=[answer_path], test_cases=no_cases,
                       reason=f"declared not applicable: {justification[:200]}")

    answers = [answer_path] if answer_path else []
    fails = [f for f in relevant if f.outcome == "fail"]
    firm = [f for f in fails if f.confidence >= MIN_CONFIDENCE]
    if firm:
        worst = _worst(firm)
        more = f" (+{len(firm) - 1} more)" if len(firm) > 1 else ""
        cases = {tc.id: "FAIL" if tc.kind != "conceptual" or worst.assessment == "conceptual" else "INCONCLUSIVE"
                 for tc in provision.test_cases}
        return Verdict(**base, verdict=VerdictValue.FAIL, findings=keys, answers=answers, test_cases=cases,
                       reason=f"{worst.severity}: {worst.title}{more}")

    passes = [f for f in relevant if f.outcome == "pass"]
    conceptual = [f for f in passes if f.assessment == "conceptual"]
    functional = [f for f in passes if f.assessment == "functional"]
    cases: dict[str, str] = {}
    for tc in provision.test_cases:
        needs_c = "conceptual" in tc.kind
        needs_f = "functional" in tc.kind
        ok = (not needs_c or bool(conceptual)) and (not needs_f or bool(functional))
        cases[tc.id] = "PASS" if ok else "INCONCLUSIVE"

    if provision.test_cases:
        complete = all(v == "PASS" for v in cases.values())
    else:
        complete = bool(passes)  # standards without TS-style test cases: any passing evidence, nothing failing

    if complete and not fails:
        via = "" if any(qualified in f.provisions for f in passes) else " (through mapped provisions)"
        return Verdict(**base, verdict=VerdictValue.PASS, findings=keys, answers=answers, test_cases=cases,
                       reason=f"{len(conceptual)} documented and {len(functional)} tested items pass{via}")

    if fails:
        reason = f"unconfirmed finding needs review: {_worst(fails).title} (confidence {_worst(fails).confidence:.2f})"
    elif not relevant:
        reason = "no evidence for this provision"
    else:
        lacking = [tc_id for tc_id, v in cases.items() if v != "PASS"]
        blocked = [f for f in relevant if f.outcome in ("not_tested", "error")]
        reason = f"no passing evidence for test case(s) {', '.join(lacking)}" if lacking else "no passing evidence"
        if blocked:
            reason += f"; {blocked[0].check}: {blocked[0].detail or blocked[0].outcome}"
    return Verdict(**base, verdict=VerdictValue.INCONCLUSIVE, findings=keys, answers=answers, test_cases=cases,
                   reason=reason)


def _risk_summary(findings: list[Finding]) -> dict[str, object]:
    counts = {severity: 0 for severity in SEVERITY_ORDER}
    for finding in findings:
        if finding.outcome == "fail":
            counts[finding.severity] += 1
    return {"failed_findings_by_severity": counts}


def assess(
    bundle: Bundle,
    standard_ref: str = HUB,
    device_class: DeviceClass | None = None,
    now: dt.datetime | None = None,
) -> Assessment:
    """Assess a bundle against a standard: a verdict for every provision, the level reached for the class."""
    standard = load_standard(standard_ref)
    dclass = device_class or load_device_class(bundle.target.device_class)
    conds = declared_conditions(bundle.declaration) if bundle.declaration else {}
    index = _index_findings(bundle.findings)
    neighbours = _neighbours(standard.id)
    verdicts: list[Verdict] = []
    for provision in standard.provisions:
        qualified = f"{standard.id}:{provision.id}"
        answer, answer_path = _ics_answer(bundle, standard.id, provision.id)
        relevant = _relevant(qualified, index, neighbours)
        verdicts.append(judge_provision(standard, provision, relevant, answer, answer_path, conds))

    levels = compute_levels(standard, verdicts, bundle)
    reached = [lv for lv in levels if lv.reached]
    level = reached[-1].level if reached else 0
    level_name = reached[-1].name if reached else "Not certified"
    return Assessment(
        target=bundle.target,
        device_class=dclass,
        standard=standard.id,
        standard_version=standard.version,
        verdicts=verdicts,
        level=level,
        level_name=level_name,
        required_level=dclass.minimum_level,
        meets_class=bool(levels) and level >= dclass.minimum_level
        and set(dclass.required_evidence) <= evidence_kinds(bundle),
        levels=levels,
        also_covers=also_covers(standard, verdicts, ("equivalent",)),
        also_supports=also_covers(standard, verdicts, ("partial",)),
        risk=_risk_summary(bundle.findings),
        tool_versions={"iotmark": __version__, "python": platform.python_version()},
        bundle_digest=bundle.digest(),
        evidence_digests=sorted({s.sha256 for s in bundle.sources}),
        assessed_at=(now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0),
    )
