"""Scenarios priced from evidence move in the right direction: weaknesses raise risk, strengths lower it."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotmark.model import Bundle, Finding, Target
from iotmark.risk.analysis import price_evidence
from iotmark.risk.library import Fleet, fine_caps, instantiate, templates

ITERATIONS = 20_000


def bundle_with(tmp_path: Path, findings: list[tuple[str, str]], device_class: str = "consumer-low") -> Path:
    target = Target(vendor="Acme", model="Plug", firmware_version="1.0", device_class=device_class)
    bundle = Bundle(target=target, findings=[Finding(check=c, outcome=o, title=c) for c, o in findings])
    path = tmp_path / f"bundle-{len(list(tmp_path.iterdir()))}.json"
    bundle.save(path)
    return path


def scenario_mean(result: dict, name: str) -> float:
    return next(s["mean"] for s in result["scenarios"] if s["name"] == name)


def price(path: Path) -> dict:
    return price_evidence(path, units=100_000, price=40.0, iterations=ITERATIONS, seed=1)


def test_a_default_credential_raises_botnet_enlistment_risk(tmp_path: Path) -> None:
    clean = price(bundle_with(tmp_path, []))
    weak = price(bundle_with(tmp_path, [("firmware.accounts.default_credential", "fail")]))
    assert scenario_mean(weak, "botnet-enlistment") > 3 * scenario_mean(clean, "botnet-enlistment")
    assert [w["id"] for w in weak["weaknesses"]] == ["default-credentials"]
    assert weak["after_fixing"]["portfolio"]["mean"] == pytest.approx(clean["portfolio"]["mean"], rel=1e-12)


def test_the_same_weakness_found_twice_counts_once(tmp_path: Path) -> None:
    once = price(bundle_with(tmp_path, [("probe.credentials.default_login", "fail")]))
    twice = price(bundle_with(tmp_path, [("probe.credentials.default_login", "fail"),
                                         ("firmware.accounts.default_credential", "fail")]))
    assert scenario_mean(twice, "botnet-enlistment") == scenario_mean(once, "botnet-enlistment")


def test_a_verified_update_signature_lowers_bricking_and_enlistment_risk(tmp_path: Path) -> None:
    clean = price(bundle_with(tmp_path, []))
    signed = price(bundle_with(tmp_path, [("firmware.update.signature_verified", "pass")]))
    for name in ("device-bricking", "botnet-enlistment"):
        assert scenario_mean(signed, name) < scenario_mean(clean, name)
    assert [s["id"] for s in signed["strengths"]] == ["signed-updates"]


def test_fixes_are_ranked_and_fixing_everything_removes_the_weaknesses_cost(tmp_path: Path) -> None:
    result = price(bundle_with(tmp_path, [("probe.telnet.open", "fail"), ("firmware.update.unsigned", "fail")]))
    fixes = result["fixes"]
    assert {f["weakness"] for f in fixes} == {"telnet-exposed", "unsigned-updates"}
    assert [f["rank"] for f in fixes] == [1, 2]
    assert fixes[0]["value_per_cost"] >= fixes[1]["value_per_cost"]
    assert result["risk_reduction"] > 0
    assert all(f["risk_reduction"] > 0 for f in fixes)


def test_an_assessment_prices_its_failed_provisions(tmp_path: Path) -> None:
    from iotmark.assess.engine import assess
    from iotmark.workflows import write_json

    target = Target(vendor="Acme", model="Plug", firmware_version="1.0", device_class="consumer-low")
    finding = Finding(check="manual.functional_test", outcome="fail", title="password accepted",
                      provisions=["etsi-en-303-645:5.1-1"])  # a check the risk map does not know
    assessment = assess(Bundle(target=target, findings=[finding]))
    path = tmp_path / "assessment.json"
    write_json(path, assessment.model_dump(mode="json", by_alias=True))
    result = price(path)
    weakness = next(w for w in result["weaknesses"] if w["id"] == "default-credentials")
    assert "etsi-en-303-645:5.1-1" in weakness["triggered_by"]  # priced from the verdict, not the finding


def test_critical_classes_get_the_safety_scenario_and_cra_fines_follow_article_64() -> None:
    ids = {t["id"] for t in templates() if "smart-lock" in t["classes"] or "*" in t["classes"]}
    assert "safety-incident" in ids
    cap = next(c for c in fine_caps() if c["id"] == "cra_essential_requirements")
    assert (cap["fixed"], cap["share"]) == (15_000_000, 0.025)
    big = Fleet(units=1, price=1.0, turnover=1_000_000_000).scales()
    assert big["cra_essential_requirements"] == 25_000_000  # 2.5% of turnover beats EUR 15M
    assert Fleet(units=1, price=1.0).scales()["cra_essential_requirements"] == 15_000_000
    fine = instantiate(next(t for t in templates() if t["id"] == "regulatory-fine"), Fleet(1, 1.0))
    assert fine.primary_loss.forms.fines_judgments.high == pytest.approx(0.5 * 15_000_000)
