"""OSCAL assessment-results, built with compliance-trestle's models so the output is valid by construction.

Shape: one result; reviewed-controls lists every assessed provision; one OSCAL finding per verdict
(objective-id target, satisfied / not-satisfied) linked to one observation per iotmark Finding.

Choices:
- Control ids: OSCAL tokens allow no ':' or '(', so `etsi-en-303-645:5.1-1` becomes
  `etsi-en-303-645_5.1-1` (lower case, other characters -> '_'); the original id is kept in a prop.
  The finding target-id is that same control id, so findings join reviewed-controls directly.
- NOT_APPLICABLE is satisfied with reason "other" and implementation-status not-applicable;
  INCONCLUSIVE is not-satisfied with reason "other": nothing unseen is reported as satisfied.
- There is no OSCAL assessment plan; import-ap points at the iotmark assessment itself,
  `urn:iotmark:assessment:sha256:<assessment digest>`.
- UUIDs are uuid5 values derived from the assessment digest: the same assessment gives the same document.
- oscal-version is the version of trestle's models (trestle.oscal.OSCAL_VERSION), the schema it was checked against.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iotmark.model import Assessment, Bundle, Certificate, Finding, Verdict, VerdictValue
from iotmark.report import ReportError, facts

if TYPE_CHECKING:
    from trestle.oscal.assessment_results import AssessmentResults

NS = f"{facts.INFORMATION_URI}ns/oscal"
_TOKEN_BAD = re.compile(r"[^a-z0-9_.\-]+")
_SPACE = re.compile(r"\s+")

# verdict -> (objective state, reason, implementation-status state or None)
_STATUS: dict[VerdictValue, tuple[str, str, str | None]] = {
    VerdictValue.PASS: ("satisfied", "pass", None),
    VerdictValue.FAIL: ("not-satisfied", "fail", None),
    VerdictValue.NOT_APPLICABLE: ("satisfied", "other", "not-applicable"),
    VerdictValue.INCONCLUSIVE: ("not-satisfied", "other", None),
}


def control_id(provision: str) -> str:
    """An OSCAL token for a qualified provision id, e.g. `etsi-en-303-645:5.1-1` -> `etsi-en-303-645_5.1-1`."""
    token = _TOKEN_BAD.sub("_", provision.lower()).strip("_") or "provision"
    return token if re.match(r"[a-z_]", token) else f"_{token}"


def _line(text: str, fallback: str = "-") -> str:
    """One trimmed line: OSCAL titles and prop values may not hold newlines or edge whitespace."""
    return _SPACE.sub(" ", text).strip() or fallback


def _evidence_text(finding: Finding) -> str:
    ev = finding.evidence
    parts = [f"{finding.kind} evidence"]
    if where := facts.location(ev):
        parts.append(f"at {where}")
    if ev.offset is not None:
        parts.append(f"offset {ev.offset}")
    if ev.protocol:
        parts.append(f"protocol {ev.protocol}")
    text = " ".join(parts) + "."
    if ev.banner:
        text += f"\nBanner: {ev.banner}"
    if ev.excerpt:
        text += f"\nExcerpt: {ev.excerpt}"
    if ev.source and ev.source != facts.location(ev):
        text += f"\nSource: {ev.source}"
    return text


def build(bundle: Bundle, assessment: Assessment) -> "AssessmentResults":
    """The trestle AssessmentResults model for `assessment`, with observations from `bundle`."""
    from trestle.oscal import OSCAL_VERSION, common
    from trestle.oscal import assessment_results as ar

    digest = assessment.digest()
    space = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:iotmark:assessment:sha256:{digest}")

    def uid(*names: object) -> str:
        return str(uuid.uuid5(space, "/".join(str(n) for n in names)))

    def prop(name: str, value: object) -> Any:
        return common.Property(name=name, value=_line(str(value)), ns=NS)

    target = assessment.target
    assessed_at = facts.as_utc(assessment.assessed_at)
    device_uuid, tool_uuid = uid("component", "device"), uid("component", "iotmark")
    collected_by_kind: dict[str, Any] = {}
    for source in bundle.sources:
        collected_by_kind.setdefault(source.kind, facts.as_utc(source.collected_at))

    observations = []
    observations_by_key: dict[str, list[str]] = {}
    for i, finding in enumerate(bundle.findings):
        obs_uuid = uid("observation", i, finding.key)
        observations_by_key.setdefault(finding.key, []).append(obs_uuid)
        observations.append(
            common.Observation(
                uuid=obs_uuid,
                title=_line(finding.title, finding.check),
                description=finding.detail or finding.title or finding.check,
                props=[
                    prop("check", finding.check),
                    prop("outcome", finding.outcome),
                    prop("severity", finding.severity),
                    prop("confidence", f"{finding.confidence:g}"),
                    prop("finding-key", finding.key),
                    *(prop("provision", p) for p in finding.provisions),
                    *(prop("cve", c) for c in finding.cve),
                ],
                methods=[common.Methods.EXAMINE if finding.assessment == "conceptual" else common.Methods.TEST],
                types=[common.ObservationTypeValidValues.finding if finding.outcome == "fail"
                       else common.ObservationTypeValidValues.discovery],
                origins=[common.Origin(actors=[common.OriginActor(type="tool", actor_uuid=tool_uuid)])],
                subjects=[common.SubjectReference(subject_uuid=device_uuid, type="component", title=_line(target.label))],
                relevant_evidence=[common.RelevantEvidence(description=_evidence_text(finding))],
                collected=collected_by_kind.get(finding.kind, facts.as_utc(bundle.created)),
            )
        )

    findings = [_finding(v, uid, prop, observations_by_key, common) for v in assessment.verdicts]
    provisions = list(dict.fromkeys(v.provision for v in assessment.verdicts))
    if provisions:
        selection: Any = common.ControlSelections(
            include_controls=[common.SelectControlById(control_id=control_id(p)) for p in provisions]
        )
    else:
        selection = common.ControlSelectionsAll(include_all=common.IncludeAll())

    starts = [facts.as_utc(s.collected_at) for s in bundle.sources] + [assessed_at]
    level_text = f"level {assessment.level} ({assessment.level_name}), class requires level {assessment.required_level}"
    result = ar.Result(
        uuid=uid("result"),
        title=_line(f"{assessment.standard} {assessment.standard_version} assessment of {target.label}"),
        description=f"iotmark assessment of {target.label}: {level_text}.",
        start=min(starts),
        end=assessed_at,
        props=[
            prop("level", assessment.level),
            prop("level-name", assessment.level_name),
            prop("required-level", assessment.required_level),
            prop("meets-class", str(assessment.meets_class).lower()),
            prop("device-class", assessment.device_class.id),
            prop("bundle-digest", assessment.bundle_digest),
            prop("assessment-digest", digest),
        ],
        local_definitions=ar.LocalDefinitions1(
            components=[
                common.SystemComponent(
                    uuid=device_uuid, type="this-system", title=_line(target.label),
                    description=target.description or f"{target.vendor} {target.model}, firmware {target.firmware_version}.",
                    status=common.Status(state="operational"),
                ),
                common.SystemComponent(
                    uuid=tool_uuid, type="software", title=f"{facts.TOOL_NAME} {facts.tool_version()}",
                    description="The iotmark assessment tool that collected the evidence and decided the verdicts.",
                    status=common.Status(state="operational"),
                ),
            ]
        ),
        reviewed_controls=common.ReviewedControls(
            description=f"Provisions of {assessment.standard} {assessment.standard_version} for device class "
            f"{assessment.device_class.id}.",
            control_selections=[selection],
        ),
        observations=observations or None,
        findings=findings or None,
    )
    return ar.AssessmentResults(
        uuid=uid("assessment-results"),
        metadata=common.Metadata(
            title=_line(f"iotmark assessment results: {target.label}"),
            last_modified=assessed_at,
            version="1.0",
            oscal_version=OSCAL_VERSION,
        ),
        import_ap=ar.ImportAp(
            href=f"urn:iotmark:assessment:sha256:{digest}",
            remarks="No OSCAL assessment plan exists; this points at the iotmark assessment the results come from.",
        ),
        results=[result],
    )


def _finding(verdict: Verdict, uid, prop, observations_by_key: dict[str, list[str]], common) -> Any:
    state, reason, implementation = _STATUS[verdict.verdict]
    related = [uuid_ for key in verdict.findings for uuid_ in observations_by_key.get(key, [])]
    props = [prop("provision", verdict.provision), prop("verdict", verdict.verdict.value), prop("status", verdict.status)]
    props += [prop("declaration-answer", a) for a in verdict.answers]
    remarks = "; ".join(f"{case}: {result}" for case, result in verdict.test_cases.items()) or None
    return common.Finding(
        uuid=uid("finding", verdict.provision),
        title=_line(f"{verdict.provision}: {verdict.verdict.value}"),
        description=verdict.reason or verdict.verdict.value,
        props=props,
        target=common.FindingTarget(
            type="objective-id",
            target_id=control_id(verdict.provision),
            status=common.ObjectiveStatus(state=state, reason=reason),
            implementation_status=common.ImplementationStatus(state=implementation) if implementation else None,
        ),
        related_observations=[common.RelatedObservation(observation_uuid=u) for u in dict.fromkeys(related)] or None,
        remarks=f"TS 103 701 test cases: {remarks}" if remarks else None,
    )


def write(out: Path, bundle: Bundle, assessment: Assessment | None, certificate: Certificate | None) -> None:
    if assessment is None:
        raise ReportError("OSCAL assessment-results need an assessment; run `iotmark assess` first")
    try:
        import trestle  # noqa: F401
    except ImportError as exc:
        raise ReportError("OSCAL output needs compliance-trestle; install it with `pip install compliance-trestle`") from exc
    out.write_bytes(build(bundle, assessment).oscal_serialize_json_bytes(pretty=True) + b"\n")
