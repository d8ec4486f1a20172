"""Training assignments, completion, and follow-through measured in the work.

A course lists the finding classes it covers: check-id prefixes (`firmware.accounts.`), CWE ids (`CWE-798`) or
catalog provisions (`5.1-1`, `etsi-en-303-645:5.1-1`). When people of a unit have completed it and that unit's
later pentest findings or certificates still show one of those classes, the unit is flagged, with the evidence.
"""

from __future__ import annotations

import datetime as dt

from iotmark.programme.registry_facts import RegistryFacts
from iotmark.programme.results import FlagEvidence, TrainingFlag, TrainingStatus
from iotmark.programme.workspace import Course, Workspace


def assignment_state(due: dt.date, completed: dt.date | None, today: dt.date) -> str:
    if completed is not None and completed <= today:
        return "completed" if completed <= due else "completed_late"
    return "overdue" if due < today else "pending"


def training_status(workspace: Workspace, today: dt.date, unit: str | None = None) -> list[TrainingStatus]:
    """Every assignment with its state on `today` (completed, completed_late, overdue, pending)."""
    out = []
    for a in workspace.training.assignments:
        person = workspace.organisation.person(a.person)
        if person is None or (unit is not None and person.unit != unit):
            continue
        completed = a.completed if a.completed is not None and a.completed <= today else None
        out.append(TrainingStatus(person=a.person, unit=person.unit, course=a.course, assigned=a.assigned,
                                  due=a.due, completed=completed,
                                  state=assignment_state(a.due, a.completed, today)))
    return out


def _bare_provision(provision: str) -> str:
    return provision.split(":", 1)[-1]


def class_matches(finding_class: str, check: str, cwes: list[str]) -> bool:
    """Does a course's finding class cover a finding with this check/rule id and these CWE ids?"""
    wanted = finding_class.strip()
    if wanted.upper().startswith("CWE-"):
        return wanted.upper() in {c.upper() for c in cwes}
    if not check:
        return False
    if wanted.endswith("."):
        return check.startswith(wanted)
    return check == wanted or check.startswith(wanted + ".")


def _unit_evidence(workspace: Workspace, facts: RegistryFacts | None, unit: str, course: Course,
                   after: dt.date, until: dt.date) -> list[FlagEvidence]:
    products = set(workspace.organisation.unit(unit).products)
    evidence: list[FlagEvidence] = []
    for engagement in workspace.pentests:
        for finding in engagement.findings:
            in_unit = (finding.product in products) if finding.product else unit in engagement.units
            seen = finding.found or engagement.end
            if not in_unit or not after < seen <= until:
                continue
            for wanted in course.covers:
                if class_matches(wanted, finding.finding_class, finding.cwe):
                    evidence.append(FlagEvidence(
                        source=f"pentest {engagement.id} finding {finding.id}", date=seen, finding_class=wanted,
                        detail=f"{finding.title} ({finding.severity}, {finding.product or 'unit scope'})"))
                    break
    for product in facts.products if facts else []:
        if product.model not in products:
            continue
        for cert in product.certificates:
            if not after < cert.issued <= until:
                continue
            failed = {_bare_provision(p) for p in cert.failed_provisions}
            for wanted in course.covers:
                if _bare_provision(wanted) in failed:
                    evidence.append(FlagEvidence(
                        source=f"certificate {cert.id}", date=cert.issued, finding_class=wanted,
                        detail=f"{product.model} {cert.firmware_version} failed provision {_bare_provision(wanted)}"))
    return sorted(evidence, key=lambda e: (e.date, e.source))


def follow_through_flags(workspace: Workspace, facts: RegistryFacts | None, as_of: dt.date,
                         unit: str | None = None) -> list[TrainingFlag]:
    """Units where a completed course's finding classes showed up again after its first completion there."""
    completions: dict[tuple[str, str], list[tuple[str, dt.date]]] = {}
    for a in workspace.training.assignments:
        person = workspace.organisation.person(a.person)
        if person is None or a.completed is None or a.completed > as_of:
            continue
        if unit is not None and person.unit != unit:
            continue
        completions.setdefault((person.unit, a.course), []).append((a.person, a.completed))
    courses = {c.id: c for c in workspace.training.courses}
    flags = []
    for (unit_id, course_id), done in sorted(completions.items()):
        course = courses[course_id]
        first = min(d for _, d in done)
        evidence = _unit_evidence(workspace, facts, unit_id, course, first, as_of)
        if evidence:
            flags.append(TrainingFlag(unit=unit_id, course=course_id, completed_by=sorted({p for p, _ in done}),
                                      last_completed=max(d for _, d in done), evidence=evidence))
    return flags
