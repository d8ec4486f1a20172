"""`iotmark programme` organisation commands on the bundled example workspace."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from iotmark.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["programme", *args])


def test_maturity_json_and_radar_chart(example_workspace, tmp_path):
    result = run("maturity", str(example_workspace), "--unit", "home", "--json", "--chart", str(tmp_path / "r.png"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["date"] for s in data["scores"]] == ["2026-03-01", "2026-09-01"]
    assert data["trends"][0]["change"]["overall"] > 0
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")


def test_kpis_json_has_a_scorecard_per_scope(example_workspace):
    result = run("kpis", str(example_workspace), "--facts", str(example_workspace / "registry-facts.json"),
                 "--as-of", "2026-11-28", "--json")
    assert result.exit_code == 0, result.output
    ids = [(c["scope"], c["id"]) for c in json.loads(result.stdout)["scorecards"]]
    assert ids[:4] == [("organisation", "Northwind Devices"), ("unit", "home"), ("unit", "industrial"),
                       ("unit", "medical")]
    assert ("person", "ipetrov") not in ids  # left in August


def test_champions_exit_1_when_there_are_gaps(example_workspace):
    result = run("champions", str(example_workspace), "--today", "2026-11-28", "--json")
    assert result.exit_code == 1
    kinds = {g["kind"] for g in json.loads(result.stdout)["gaps"]}
    assert {"unit_without_champion", "product_without_champion", "champion_left"} <= kinds


def test_pentest_import_then_status(example_workspace):
    result = run("pentest", "import", str(example_workspace), str(example_workspace / "imports" / "pt-2026-1.sarif"),
                 "--engagement", "PT-2026-1")
    assert result.exit_code == 0 and "0 findings added, 3 already imported" in result.stdout
    result = run("pentest", "retest", str(example_workspace), "--engagement", "PT-2026-1", "--finding", "R1",
                 "--state", "fixed", "--date", "2026-11-20")
    assert result.exit_code == 0, result.output
    status = json.loads(run("pentest", "status", str(example_workspace), "--today", "2026-11-28", "--json").stdout)
    assert status[0]["by_retest"]["fixed"] == 2


def test_malformed_workspace_yaml_is_one_error_line(example_workspace):
    (example_workspace / "champions.yaml").write_text("champions: [\n  {person: x\n")
    result = run("champions", str(example_workspace))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "champions.yaml: invalid YAML" in lines[0]


def test_unknown_reference_names_file_and_field(example_workspace):
    text = (example_workspace / "actions.yaml").read_text().replace("owner: akoch", "owner: nobody", 1)
    (example_workspace / "actions.yaml").write_text(text)
    result = run("gaps", str(example_workspace))
    assert result.exit_code == 2
    assert "actions.yaml: field actions.1.owner: unknown person 'nobody'" in result.stderr


def test_bad_date_and_unknown_unit_are_one_line(example_workspace):
    assert "expected a date" in run("gaps", str(example_workspace), "--today", "soon").stderr
    result = run("maturity", str(example_workspace), "--unit", "space")
    assert result.exit_code == 2 and "unknown unit 'space'" in result.stderr
