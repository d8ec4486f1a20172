"""The command-line contract: demo end to end, catalog JSON, verify exit codes, one-line errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DEMO_FILES = ["bundle.json", "assessment.json", "certificate.json", "issuer.pub", "label.svg", "label.png",
              "report.html", "report.pdf", "report.sarif", "vex.cdx.json", "oscal-assessment-results.json"]
STANDARD_IDS = ["etsi-en-303-645", "nistir-8259a", "nistir-8259b", "nistir-8425", "cra-annex-i", "uk-psti",
                "owasp-iot-top10", "owasp-isvs", "sg-cls"]


def iotmark(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iotmark.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = iotmark("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_demo_writes_every_contract_file(demo: Path) -> None:
    for name in DEMO_FILES:
        assert (demo / name).is_file(), name
        assert (demo / name).stat().st_size > 0, name


def test_demo_certificate_verifies_with_its_issuer_key(demo: Path) -> None:
    result = iotmark("verify", str(demo / "certificate.json"), "--key", str(demo / "issuer.pub"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "level 1 (Baseline) for Northwind Devices SmartPlug P1 1.4.2" in result.stdout


def test_demo_bundle_has_the_collector_shape(demo: Path) -> None:
    bundle = json.loads((demo / "bundle.json").read_text())
    assert set(bundle["target"]) >= {"vendor", "model", "firmware_version", "device_class"}
    for finding in bundle["findings"]:
        assert set(finding) >= {"check", "outcome", "severity", "title", "detail", "evidence", "provisions"}
    kinds = {s["kind"] for s in bundle["sources"]}
    assert kinds == {"declaration", "sbom", "manual", "firmware"}


def test_demo_assessment_matches_certificate(demo: Path) -> None:
    assessment = json.loads((demo / "assessment.json").read_text())
    certificate = json.loads((demo / "certificate.json").read_text())
    assert assessment["level"] == certificate["level"] == 1
    assert len(assessment["verdicts"]) == 68
    assert certificate["expires"] <= assessment["target"]["support_until"]


def test_assess_command_on_saved_bundle_is_deterministic(demo: Path, tmp_path: Path) -> None:
    first = iotmark("assess", str(demo / "bundle.json"), "--json")
    second = iotmark("assess", str(demo / "bundle.json"), "--json")
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    a.pop("assessed_at"), b.pop("assessed_at")
    assert a == b


@pytest.mark.parametrize("standard", STANDARD_IDS)
def test_catalog_show_json_contract(standard: str) -> None:
    result = iotmark("catalog", "show", standard, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == standard
    assert data["version"]
    assert data["provisions"] and all({"id", "status"} <= set(p) for p in data["provisions"])


def test_catalog_show_en_statuses_use_annex_b_form() -> None:
    import re

    data = json.loads(iotmark("catalog", "show", "etsi-en-303-645@2.1.1", "--json").stdout)
    assert len(data["provisions"]) == 68
    assert all(re.fullmatch(r"(M|R)( C \(\d+\))?", p["status"]) for p in data["provisions"])


def test_unknown_standard_is_one_line_exit_2() -> None:
    result = iotmark("catalog", "show", "iso-9999")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: unknown standard 'iso-9999'")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{broken", "invalid JSON at line 1"),
        ('{"target": {"vendor": "a"}}', "field target.model: Field required"),
        ('{"target": {"vendor": "a", "model": "b", "firmware_version": "1", "device_class": "x"}, '
         '"findings": [{"check": "NOT VALID", "outcome": "pass", "title": "t"}]}', "field findings.0.check"),
        ('{"target": {"vendor": "a", "model": "b", "firmware_version": "1", "device_class": "x"}, '
         '"findings": [{"check": "a.b", "outcome": "maybe", "title": "t"}]}', "field findings.0.outcome"),
        ("[1, 2]", "expected a mapping at the top level"),
    ],
)
def test_bad_bundle_gives_one_line_naming_file_and_field(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(content)
    result = iotmark("assess", str(path))
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and expected in lines[0]


def test_unknown_device_class_in_bundle(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text('{"target": {"vendor": "a", "model": "b", "firmware_version": "1", "device_class": "toaster"}}')
    result = iotmark("assess", str(path))
    assert result.returncode == 2
    assert "toaster" in result.stderr and "Traceback" not in result.stderr


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = iotmark("assess", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.json'}: file not found"


def test_certify_refuses_an_assessment_of_another_bundle(demo: Path, tmp_path: Path) -> None:
    bundle = json.loads((demo / "bundle.json").read_text())
    bundle["findings"][0]["detail"] += " (edited)"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(bundle))
    result = iotmark("certify", str(edited), "--assessment", str(demo / "assessment.json"), "--keys", str(demo / "keys"),
                     "--out", str(tmp_path / "c.json"))
    assert result.returncode == 2
    assert "different bundle" in result.stderr
    assert not (tmp_path / "c.json").exists()


def test_bundle_command_builds_the_same_evidence_as_demo(demo: Path, tmp_path: Path) -> None:
    from iotmark.workflows import sample_dir

    sample = sample_dir()
    out = tmp_path / "b.json"
    result = iotmark("bundle", "--declaration", str(sample / "declaration.yaml"), "--sbom", str(sample / "sbom.cdx.json"),
                     "--findings", str(sample / "findings.json"), "--merge", str(demo / "firmware" / "bundle.json"),
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    built = json.loads(out.read_text())
    demo_bundle = json.loads((demo / "bundle.json").read_text())
    assert built["findings"] == demo_bundle["findings"]
    assert any(f["kind"] == "firmware" and f["evidence"].get("source") == "firmware.bin" for f in built["findings"])


def test_keys_certify_label_report_flow(demo: Path, tmp_path: Path) -> None:
    env = {**__import__("os").environ, "IOTMARK_HOME": str(tmp_path / "home")}
    assert iotmark("keys", "init", env=env).returncode == 0
    cert = tmp_path / "cert.json"
    made = iotmark("certify", str(demo / "bundle.json"), "--out", str(cert), "--issuer", "Lab A", env=env)
    assert made.returncode == 0, made.stderr
    pub = tmp_path / "home" / "keys" / "issuer.pub"
    assert iotmark("verify", str(cert), "--key", str(pub)).returncode == 0
    # the demo issuer's key is not trusted for Lab A's certificate
    wrong = iotmark("verify", str(cert), "--key", str(demo / "issuer.pub"))
    assert wrong.returncode == 1 and wrong.stdout.startswith("NOT valid: unknown key")
    assert iotmark("keys", "revoke", str(cert), "--reason", "test", env=env).returncode == 0
    revoked = iotmark("verify", str(cert), "--key", str(pub), "--revocations",
                      str(tmp_path / "home" / "keys" / "revocations.json"))
    assert revoked.returncode == 1 and "revoked on" in revoked.stdout
    png = tmp_path / "label.png"
    assert iotmark("label", str(cert), "--out", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sarif = tmp_path / "r.sarif"
    assert iotmark("report", str(demo / "bundle.json"), "--format", "sarif", "--out", str(sarif)).returncode == 0
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    bad = iotmark("report", str(demo / "bundle.json"), "--format", "docx")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --format docx: expected one of")


def test_declaration_template_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "decl.yaml"
    assert iotmark("declaration", "template", "--class", "smart-lock", "--out", str(out)).returncode == 0
    text = out.read_text().replace("vendor: ''", "vendor: Acme").replace("model: ''", "model: Lock 1")
    out.write_text(text.replace("firmware_version: ''", "firmware_version: '1.0'"))
    result = iotmark("declaration", "check", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert {f["outcome"] for f in json.loads(result.stdout)} == {"not_tested"}


def test_risk_commands_are_mounted_on_the_main_cli(demo: Path) -> None:
    standard = Path(__file__).resolve().parents[1] / "examples" / "risk" / "standard.yaml"
    run = iotmark("risk", "run", str(standard), "--json", "--iterations", "20000", "--seed", "7")
    assert run.returncode == 0, run.stderr
    scenario = json.loads(run.stdout)["scenarios"][0]
    assert set(scenario["percentiles"]) == {"p10", "p50", "p90", "p95", "p99"}
    assert scenario["mean"] > 0
    priced = iotmark("risk", str(demo / "bundle.json"), "--units", "1000", "--price", "40")
    assert priced.returncode == 0, priced.stderr
    assert "expected annual loss as found" in priced.stdout


def test_demo_assessment_prices_the_risk_as_found_and_after_fixing(demo: Path) -> None:
    money = json.loads((demo / "assessment.json").read_text())["risk"]["money"]
    assert money["fleet"] == "10,000 units at EUR 30.00"
    assert money["expected_annual_loss_as_found"] > money["expected_annual_loss_after_fixing"] > 0
    assert money["risk_reduction"] == pytest.approx(
        money["expected_annual_loss_as_found"] - money["expected_annual_loss_after_fixing"], abs=0.02)
    assert money["top_fixes"].startswith("Remove the telnet server")
    assert "money: expected annual loss as found" in (demo / "report.html").read_text()


def test_assess_prices_risk_only_with_units_and_price_together(demo: Path) -> None:
    alone = iotmark("assess", str(demo / "bundle.json"), "--units", "100")
    assert alone.returncode == 2
    assert alone.stderr.strip() == "error: --units and --price go together: give both to price the risk, or neither"
