"""Threat models: loading with one-line errors, STRIDE threats from the library, findings the assessment reads,
and FAIR scenarios the real risk engine runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from design_fixtures import EXAMPLE_MODEL, SAMPLE_DECLARATION, assert_one_line_error, run_iotmark
from iotmark.catalog import load_standard
from iotmark.inputs import InputError
from iotmark.programme import threats
from iotmark.risk.library import templates


def _example() -> dict:
    return yaml.safe_load(EXAMPLE_MODEL.read_text())


def _write(tmp_path: Path, data: dict, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_every_provision_the_library_maps_to_is_in_the_catalog() -> None:
    library = threats.threat_library()
    known = {p.id for p in load_standard(library.standard).provisions}
    assert threats.library_provisions() - known == set()


def test_every_library_threat_feeds_a_risk_library_scenario_and_builds_a_valid_fair_scenario() -> None:
    from iotmark.risk.controls import Control, apply_changes
    from iotmark.risk.library import Fleet, instantiate

    risk_ids = {t["id"] for t in templates()}
    for threat in threats.threat_library().threats:
        assert threat.risk_scenario in risk_ids, threat.id
        scenario = instantiate({"id": threat.id, **threat.scenario}, Fleet(units=1000, price=20))
        control = Control(name=threat.fix.title, cost=threat.fix.cost, changes=threat.fix.changes)
        apply_changes(scenario, control.changes, threat.id)  # the fix changes an input the scenario has


def test_the_library_covers_every_stride_category() -> None:
    assert {t.stride for t in threats.threat_library().threats} == set("STRIDE")


def test_the_example_model_validates_against_the_json_schema_and_the_types() -> None:
    jsonschema.Draft202012Validator(threats.model_schema()).validate(_example())
    model = threats.load_threat_model(EXAMPLE_MODEL)
    assert [e.id for e in model.elements] == ["plug", "cloud", "app", "hub", "cdn"]


def test_the_example_smart_plug_has_exactly_these_unmitigated_threats() -> None:
    analysis = threats.analyse(threats.load_threat_model(EXAMPLE_MODEL), EXAMPLE_MODEL.name)
    assert sorted((t.threat, t.target) for t in analysis.unmitigated) == [
        ("cleartext-credentials", "app-provisioning"),
        ("firmware-modified-on-device", "plug"),
        ("modified-in-transit", "app-provisioning"),
        ("over-privileged-service", "plug"),
        ("secrets-extracted", "plug"),
        ("spoofed-peer", "app-provisioning"),
        ("unauthenticated-control", "app-provisioning"),
        ("untraceable-actions", "plug"),
    ]
    claimed = {(t.threat, t.target): t.mitigated_by for t in analysis.threats}
    assert claimed[("unauthenticated-control", "hub-to-plug")].startswith("The local API only accepts")
    assert claimed[("tampered-update", "firmware-download")] == "the model's properties"


def test_encrypting_a_flow_removes_its_disclosure_threat(tmp_path: Path) -> None:
    data = _example()
    flow = next(f for f in data["flows"] if f["id"] == "app-provisioning")
    flow["encrypted"] = True
    analysis = threats.analyse(threats.load_threat_model(_write(tmp_path, data)))
    unmitigated = {(t.threat, t.target) for t in analysis.unmitigated}
    assert ("cleartext-credentials", "app-provisioning") not in unmitigated
    assert ("modified-in-transit", "app-provisioning") not in unmitigated  # integrity follows encryption
    assert ("spoofed-peer", "app-provisioning") in unmitigated


def test_an_unsigned_firmware_flow_is_a_critical_tampering_threat(tmp_path: Path) -> None:
    data = _example()
    next(f for f in data["flows"] if f["id"] == "firmware-download")["signed_payload"] = False
    analysis = threats.analyse(threats.load_threat_model(_write(tmp_path, data)))
    hit = [t for t in analysis.unmitigated if t.threat == "tampered-update"]
    assert [(t.target, t.severity, t.provisions) for t in hit] == [
        ("firmware-download", "critical", ["5.3-2", "5.3-9", "5.3-10"])]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["flows"][0].update({"to": "toaster"}), "flows.plug-to-cloud.to: unknown element 'toaster'"),
    (lambda d: d["elements"].append(copy.deepcopy(d["elements"][1])), "'cloud' repeats"),
    (lambda d: d["elements"][0].update({"secure_bot": True}), "field elements.0"),
    (lambda d: d["flows"][0].update({"port": 70000}), "field flows.0.port"),
    (lambda d: d["elements"][0].update({"kind": "fridge"}), "field elements.0.kind"),
    (lambda d: d["mitigations"].append({"threat": "alien-invasion", "how": "hope"}), "unknown threat 'alien-invasion'"),
    (lambda d: d["mitigations"].append({"threat": "spoofed-peer", "target": "nowhere", "how": "x"}),
     "mitigations.2.target: unknown element or flow 'nowhere'"),
    (lambda d: d.pop("device"), "'device' is a required property"),
])
def test_bad_models_are_refused_with_one_line_naming_the_field(tmp_path: Path, change, message: str) -> None:
    data = _example()
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as caught:
        threats.load_threat_model(path)
    text = str(caught.value)
    assert message in text and "\n" not in text and text.startswith(str(path))


@pytest.mark.parametrize("content", [
    "device: [unclosed\n",                       # malformed YAML
    "a: &x [1]\nb: *x\n",                       # aliases (billion laughs) refused
    "- just\n- a list\n",                        # wrong top level
    "x: " + "[" * 200 + "]" * 200 + "\n",        # hostile nesting
])
def test_the_command_turns_unusable_files_into_one_error_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert_one_line_error(run_iotmark("programme", "threats", path))


def test_an_oversized_model_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * (threats.MAX_MODEL_BYTES + 10))
    line = assert_one_line_error(run_iotmark("programme", "threats", path))
    assert f"{threats.MAX_MODEL_BYTES + 12} bytes" in line


def test_scenarios_written_by_the_command_run_in_the_real_risk_engine(tmp_path: Path) -> None:
    out = tmp_path / "plug-risk.yaml"
    made = run_iotmark("programme", "threats", EXAMPLE_MODEL, "--scenarios", out, "--units", "1000", "--price", "20")
    assert made.returncode == 0, made.stderr
    written = yaml.safe_load(out.read_text())
    assert len(written["scenarios"]) == 8 and len(written["controls"]) == 8
    ran = run_iotmark("risk", "run", out, "--iterations", "5000", "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    names = sorted(s["name"] for s in result["scenarios"])
    assert names[0] == "cleartext-credentials@app-provisioning"
    assert result["portfolio"]["mean"] > 0
    assert {c["name"] for c in result["controls"]} >= {"Encrypt the channel (TLS 1.2 or later) (app-provisioning)"}


def test_fleet_size_scales_the_per_unit_losses(tmp_path: Path) -> None:
    analysis = threats.analyse(threats.load_threat_model(EXAMPLE_MODEL))
    small = threats.risk_scenarios(analysis, threats.Fleet(units=1000, price=20))
    large = threats.risk_scenarios(analysis, threats.Fleet(units=100000, price=20))
    pick = lambda data: next(s for s in data["scenarios"] if s["name"] == "cleartext-credentials@app-provisioning")
    low = pick(small)["primary_loss"]["forms"]["productivity"]
    high = pick(large)["primary_loss"]["forms"]["productivity"]
    assert high["high"] == pytest.approx(low["high"] * 100)


def test_design_findings_reach_the_assessment(tmp_path: Path) -> None:
    from iotmark.assess.engine import assess
    from iotmark.workflows import build_bundle

    findings = tmp_path / "design-findings.json"
    made = run_iotmark("programme", "threats", EXAMPLE_MODEL, "--findings", findings, "--json")
    assert made.returncode == 0, made.stderr
    saved = json.loads(findings.read_text())["findings"]
    failing = [f for f in saved if f["outcome"] == "fail"]
    assert len(failing) == 8 and all(f["check"].startswith("design.threat.") for f in saved)
    leak = next(f for f in failing if f["check"] == "design.threat.cleartext-credentials")
    assert leak["evidence"]["path"] == "smart-plug.yaml"
    assert EXAMPLE_MODEL.read_text().splitlines()[leak["evidence"]["line"] - 1].strip().startswith("- {id: app-provisioning")

    bundle = build_bundle(declaration=SAMPLE_DECLARATION, findings=[findings])
    verdicts = {v.provision: v for v in assess(bundle).verdicts}
    assert verdicts["5.5-6"].verdict.value == "FAIL"
    assert "Credentials sent without encryption" in verdicts["5.5-6"].reason


def test_json_output_counts_threats_per_stride_category() -> None:
    result = run_iotmark("programme", "threats", EXAMPLE_MODEL, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["by_stride"]["I"] == {"total": 5, "unmitigated": 2}
    assert sum(v["unmitigated"] for v in data["by_stride"].values()) == 8
