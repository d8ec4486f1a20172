"""The board report: rendered to PDF by WeasyPrint, pages rasterised with pdftoppm, text read back with
pdftotext; sections present, figures computed from the fixture workspace, gaps shown as "not available"."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from design_fixtures import REPO, SAMPLE_DECLARATION, SAMPLE_FINDINGS, assert_one_line_error, run_iotmark

WORKSPACE = REPO / "examples" / "programme"
SECTIONS = ["Summary", "Portfolio risk in money", "Largest exposures", "Measures that pay for themselves",
            "Certification coverage", "Maturity and its trend", "Key performance indicators", "Incidents",
            "Non-compliance cases", "Recall exposure", "Decisions for the board"]
FLEET = {"SmartPlug P1": {"units_in_field": 40000, "unit_price": 25, "recall_cost_per_unit": 18},
         "Doorbell D2": {"units_in_field": 12000, "unit_price": 120, "recall_cost_per_unit": 65}}


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from iotmark.workflows import build_bundle

    work = tmp_path_factory.mktemp("board")
    workspace = work / "workspace"
    shutil.copytree(WORKSPACE, workspace)
    (workspace / "board.yaml").write_text(yaml.safe_dump({"products": FLEET,
                                                          "decisions": ["Approve the 2027 security budget."]}))
    bundle = work / "smartplug.bundle.json"
    build_bundle(declaration=SAMPLE_DECLARATION, sboms=[REPO / "examples/sample-device/sbom.cdx.json"],
                 findings=[SAMPLE_FINDINGS]).save(bundle)
    pdf = work / "board.pdf"
    made = run_iotmark("programme", "report", workspace, "--facts", workspace / "registry-facts.json",
                       "--bundle", bundle, "--out", pdf, "--iterations", "5000")
    return {"work": work, "workspace": workspace, "bundle": bundle, "pdf": pdf, "made": made}  # type: ignore[dict-item]


def test_the_pdf_renders_to_page_images(inputs) -> None:
    assert inputs["made"].returncode == 0, inputs["made"].stderr
    out = inputs["work"] / "page"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(inputs["pdf"]), str(out)], check=True, capture_output=True)
    pages = sorted(inputs["work"].glob("page-*.png"))
    assert 3 <= len(pages) <= 6
    assert all(p.stat().st_size > 5000 for p in pages)  # drawn pages, not blank ones


def test_every_section_title_is_in_the_pdf_text_in_order(inputs) -> None:
    text = _text(inputs["pdf"])
    positions = [text.find(title) for title in SECTIONS]
    assert -1 not in positions, [t for t, p in zip(SECTIONS, positions) if p == -1]
    assert positions == sorted(positions)


def test_key_figures_come_from_the_workspace_and_the_facts(inputs) -> None:
    text = " ".join(_text(inputs["pdf"]).split())
    facts = json.loads((inputs["workspace"] / "registry-facts.json").read_text())
    open_cases = [c for c in facts["cases"] if c["status"] == "open"]
    exposure = sum(FLEET[c["product"]]["units_in_field"] * FLEET[c["product"]]["recall_cost_per_unit"]
                   for c in open_cases)
    assert exposure == 780_000
    # the summary cards sit two to a row: labels of a row first, then their values
    assert f"OPEN NON-COMPLIANCE CASES RECALL EXPOSURE {len(open_cases)} EUR 780k" in text
    incident = facts["incidents"][0]
    assert f"{incident['id']} {incident['product']}" in text and "EUR 125k" in text
    assert "Doorbell D2 open case 12,000 EUR 65 EUR 780k" in text
    assert "Approve the 2027 security budget." in text
    assert "Set a date by which Doorbell D2, Sensor S3, CareHub M1 reach the certification level" in text


def test_risk_figures_match_the_fair_engine_for_the_same_bundle(inputs) -> None:
    from iotmark.programme.board import _money
    from iotmark.risk.analysis import price_evidence

    priced = price_evidence(inputs["bundle"], units=40000, price=25, iterations=5000, seed=1)
    text = " ".join(_text(inputs["pdf"]).split())
    assert f"SmartPlug P1 40,000 {_money(priced['portfolio']['mean'], 'EUR')}" in text
    assert f"expected to cost the company {_money(priced['portfolio']['mean'], 'EUR')} a year" in text


def test_missing_inputs_show_not_available_instead_of_estimates(inputs, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(WORKSPACE, workspace)
    (workspace / "board.yaml").unlink()  # the example's fleet figures: without them recall cannot be priced
    html = tmp_path / "board.html"
    made = run_iotmark("programme", "report", workspace, "--facts", workspace / "registry-facts.json", "--out", html)
    assert made.returncode == 0, made.stderr
    page = html.read_text()
    assert "Risk in money not available: no product bundles given (--bundle)." in page
    assert ("Recall exposure not available: Doorbell D2 (open case): no units in the field or recall cost per unit "
            "in board.yaml.") in page
    assert '<div class="label">Expected loss per year</div><div class="big">not available</div>' in page


def test_facts_of_another_vendor_and_bad_paths_exit_2(inputs, tmp_path: Path) -> None:
    facts = json.loads((inputs["workspace"] / "registry-facts.json").read_text())
    facts["vendor"] = "Contoso"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(facts))
    line = assert_one_line_error(run_iotmark("programme", "report", inputs["workspace"], "--facts", other,
                                             "--out", tmp_path / "b.pdf"))
    assert "Contoso" in line
    assert_one_line_error(run_iotmark("programme", "report", inputs["workspace"], "--facts", other,
                                      "--out", tmp_path / "b.docx"))
    bad = inputs["workspace"] / "board.yaml"
    saved = bad.read_text()
    try:
        bad.write_text("products: {SmartPlug P1: {units_in_field: -5, unit_price: 1}}\n")
        line = assert_one_line_error(run_iotmark("programme", "report", inputs["workspace"], "--facts",
                                                 inputs["workspace"] / "registry-facts.json", "--out", tmp_path / "c.pdf"))
        assert "board.yaml" in line and "units_in_field" in line
    finally:
        bad.write_text(saved)
