"""Assessment engine: TS 103 701 verdict logic on crafted bundles, traceability, levels, coverage."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from iotmark.assess.engine import assess
from iotmark.catalog import load_levels, load_standard
from iotmark.collect.base import check_registry
from iotmark.collect.declaration import declaration_findings, load_questions
from iotmark.model import Bundle, Declaration, EvidenceSource, Finding, ProvisionAnswer, Target

EN = "etsi-en-303-645"
TARGET = Target(vendor="Acme", model="Cam 1", firmware_version="2.0", device_class="consumer-low",
                support_until=dt.date(2030, 1, 1))


def verdict(assessment, pid):
    return next(v for v in assessment.verdicts if v.provision == pid)


def finding(check="manual.functional_test", outcome="pass", provisions=("5.1-1",), assessment="functional",
            kind="manual", confidence=1.0, severity="info", **evidence) -> Finding:
    return Finding(check=check, outcome=outcome, severity=severity, title=f"{check} {outcome}", kind=kind,
                   assessment=assessment, confidence=confidence, provisions=list(provisions), evidence=evidence)


def bundle_with(*findings: Finding, declaration: Declaration | None = None) -> Bundle:
    return Bundle(target=TARGET, findings=list(findings), declaration=declaration)


def test_every_mandatory_provision_is_reachable_by_a_check_or_question() -> None:
    reachable = {p for q in load_questions() for p in q.provisions}
    reachable |= {p for spec in check_registry().values() for p in spec.provisions}
    mandatory = {f"{EN}:{p.id}" for p in load_standard(EN).provisions if p.mandatory}
    assert len(mandatory) == 33
    assert mandatory - reachable == set()


def test_checks_and_questions_name_real_provisions() -> None:
    from iotmark.catalog import load_standard as std

    named = {p for q in load_questions() for p in q.provisions}
    named |= {p for spec in check_registry().values() for p in spec.provisions}
    for qualified in sorted(named):
        standard, _, pid = qualified.partition(":")
        std(standard).provision(pid)  # raises CatalogError if unknown


def test_no_evidence_is_inconclusive_never_pass() -> None:
    result = assess(bundle_with())
    assert {v.verdict.value for v in result.verdicts} == {"INCONCLUSIVE"}
    assert all(v.reason == "no evidence for this provision" for v in result.verdicts)
    assert result.level == 0 and result.level_name == "Not certified"
    assert len(result.verdicts) == 68


def test_pass_needs_conceptual_and_functional_evidence() -> None:
    provision = load_standard(EN).provision("5.1-1")
    kinds = {tc.kind for tc in provision.test_cases}
    assert kinds == {"conceptual", "functional"}
    only_doc = assess(bundle_with(finding(assessment="conceptual", kind="declaration")))
    assert verdict(only_doc, "5.1-1").verdict.value == "INCONCLUSIVE"
    assert verdict(only_doc, "5.1-1").test_cases == {"5.1-1-1": "PASS", "5.1-1-2": "INCONCLUSIVE"}
    both = assess(bundle_with(finding(assessment="conceptual", kind="declaration"), finding()))
    assert verdict(both, "5.1-1").verdict.value == "PASS"
    assert verdict(both, "5.1-1").test_cases == {"5.1-1-1": "PASS", "5.1-1-2": "PASS"}


def test_a_failing_finding_decides_fail_and_is_traceable() -> None:
    bad = finding(check="firmware.accounts.default_credential", outcome="fail", severity="critical", kind="firmware",
                  provisions=("5.1-1", "5.1-2"), path="/etc/shadow", line=1)
    result = assess(bundle_with(finding(assessment="conceptual", kind="declaration"), finding(), bad))
    v = verdict(result, "5.1-1")
    assert v.verdict.value == "FAIL"
    assert v.reason == "critical: firmware.accounts.default_credential fail"
    assert "firmware.accounts.default_credential@/etc/shadow|1" in v.findings
    assert verdict(result, "5.1-2").verdict.value == "FAIL"


def test_low_confidence_failure_asks_for_review() -> None:
    weak = finding(outcome="fail", confidence=0.3, severity="high")
    result = assess(bundle_with(finding(assessment="conceptual", kind="declaration"), finding(), weak))
    v = verdict(result, "5.1-1")
    assert v.verdict.value == "INCONCLUSIVE"
    assert v.reason.startswith("unconfirmed finding needs review")


def test_false_condition_makes_provision_not_applicable() -> None:
    declaration = Declaration(target=TARGET, answers={"debug_interface_accessible": False})
    result = assess(bundle_with(declaration=declaration))
    v = verdict(result, "5.6-4")
    assert v.verdict.value == "NOT_APPLICABLE"
    assert v.answers == ["answers.debug_interface_accessible"]


def test_justified_exception_only_for_non_mandatory_provisions() -> None:
    declaration = Declaration(target=TARGET, provisions={
        "5.7-1": ProvisionAnswer(applies=False, justification="no boot ROM support"),
        "5.5-1": ProvisionAnswer(applies=False, justification="we do not want to"),
        "5.2-2": ProvisionAnswer(applies=False),
    })
    result = assess(bundle_with(declaration=declaration))
    assert verdict(result, "5.7-1").verdict.value == "NOT_APPLICABLE"
    assert verdict(result, "5.5-1").verdict.value == "FAIL"
    assert verdict(result, "5.5-1").reason == "declared not applicable, but the provision is mandatory without condition"
    assert verdict(result, "5.2-2").verdict.value == "FAIL"
    assert verdict(result, "5.2-2").answers == ["provisions.5.2-2"]


def test_unjustified_exception_fails_4_1_through_the_declaration() -> None:
    declaration = Declaration(target=TARGET, answers={"recommendations_justified": True},
                              provisions={"5.2-2": ProvisionAnswer(applies=False)})
    found = declaration_findings(declaration, "declaration.yaml")
    result = assess(bundle_with(*found, declaration=declaration))
    assert verdict(result, "4-1").verdict.value == "FAIL"


def test_not_tested_findings_never_pass() -> None:
    skipped = finding(outcome="not_tested")
    errored = finding(outcome="error")
    result = assess(bundle_with(skipped, errored))
    assert verdict(result, "5.1-1").verdict.value == "INCONCLUSIVE"


def test_levels_are_cumulative_and_name_what_is_missing() -> None:
    ladder = load_levels(EN)
    result = assess(bundle_with())
    assert [lv.level for lv in result.levels] == [lv.level for lv in sorted(ladder, key=lambda x: x.level)]
    assert not any(lv.reached for lv in result.levels)
    assert result.levels[1].missing[0] == "level 1 not reached"


def test_sample_device_levels(sample_bundle: Bundle) -> None:
    result = assess(sample_bundle)
    by_level = {lv.level: lv for lv in result.levels}
    assert by_level[1].reached, by_level[1].missing
    assert not by_level[2].reached
    assert "5.6-1: FAIL" in by_level[2].missing
    assert result.level == 1 and result.meets_class
    assert verdict(result, "5.6-4").verdict.value == "NOT_APPLICABLE"
    assert verdict(result, "5.3-8").verdict.value == "FAIL"  # dnsmasq 2.80 in the SBOM has known CVEs
    assert "uk-psti" in result.also_covers and "1" in result.also_covers["uk-psti"]


def test_assessment_records_evidence_digests(sample_bundle: Bundle) -> None:
    result = assess(sample_bundle)
    assert result.bundle_digest == sample_bundle.digest()
    # declaration, SBOM, saved findings, firmware image: each pinned by its sha256
    assert len(result.evidence_digests) == 4
    assert all(len(d) == 64 for d in result.evidence_digests)
    image = sample_dir_path() / "firmware.bin"
    assert hashlib.sha256(image.read_bytes()).hexdigest() in result.evidence_digests


def test_other_standards_are_assessed_through_mappings(sample_bundle: Bundle) -> None:
    result = assess(sample_bundle, "uk-psti")
    assert [v.provision for v in result.verdicts] == ["1", "2", "3"]
    assert {v.verdict.value for v in result.verdicts} == {"PASS"}


def sample_dir_path():
    from iotmark.workflows import sample_dir

    return sample_dir()


@pytest.fixture(scope="module")
def collected_sample(tmp_path_factory) -> Bundle:
    from iotmark.workflows import collect_sample, sample_dir

    return collect_sample(sample_dir(), tmp_path_factory.mktemp("sample"))[0]


@pytest.fixture()
def sample_bundle(collected_sample: Bundle) -> Bundle:
    return collected_sample.model_copy(deep=True)


def test_bundle_round_trips_and_is_content_addressed(sample_bundle: Bundle, tmp_path) -> None:
    from iotmark.inputs import load_bundle

    path = tmp_path / "bundle.json"
    digest = sample_bundle.save(path)
    again = load_bundle(path)
    assert again.digest() == digest
    again.findings[0].detail += " "
    assert again.digest() != digest


def test_evidence_source_digest_matches_file() -> None:
    import hashlib

    from iotmark.workflows import build_bundle, sample_dir

    sample = sample_dir()
    bundle = build_bundle(declaration=sample / "declaration.yaml")
    [source] = bundle.sources
    assert isinstance(source, EvidenceSource)
    assert source.sha256 == hashlib.sha256((sample / "declaration.yaml").read_bytes()).hexdigest()


def test_device_class_decides_required_level(sample_bundle: Bundle) -> None:
    from iotmark.catalog import device_class

    lock = device_class("smart-lock")
    result = assess(sample_bundle, device_class=lock)
    assert (result.level, result.required_level, result.meets_class) == (1, 4, False)
    plug = assess(sample_bundle)
    assert (plug.level, plug.required_level, plug.meets_class) == (1, 1, True)


def test_class_evidence_requirement_is_enforced() -> None:
    from iotmark.catalog import device_class

    general = device_class("consumer-general")
    assert "sbom" in general.required_evidence
    result = assess(bundle_with(), device_class=general.model_copy(update={"minimum_level": 0}))
    assert result.meets_class is False  # no SBOM evidence, whatever the level


def test_version_3_assessment_has_no_version_2_levels(sample_bundle: Bundle) -> None:
    result = assess(sample_bundle, "etsi-en-303-645@3.1.1")
    assert result.standard_version == "3.1.1"
    assert len(result.verdicts) == 78
    assert result.levels == [] and result.level == 0


def test_feature_limited_mandatory_provision_can_be_excepted() -> None:
    v3 = load_standard("etsi-en-303-645@3.1.1")
    feature_only = next(p for p in v3.provisions if p.mandatory and p.features and not p.conditional)
    declaration = Declaration(target=TARGET, provisions={
        feature_only.id: ProvisionAnswer(applies=False, justification="the device lacks this feature")})
    result = assess(bundle_with(declaration=declaration), "etsi-en-303-645@3.1.1")
    assert verdict(result, feature_only.id).verdict.value == "NOT_APPLICABLE"
