"""`iotmark risk`: the JSON contract, the findings-driven default command, outputs, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iotmark.model import Bundle, Finding, Target
from iotmark.risk.cli import app

STANDARD = Path(__file__).resolve().parents[2] / "examples" / "risk" / "standard.yaml"
runner = CliRunner()


def test_run_json_follows_the_contract_and_honours_iterations_and_seed() -> None:
    args = ["run", str(STANDARD), "--json", "--iterations", "20000", "--seed", "5"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert first.stdout == second.stdout
    scenario = data["scenarios"][0]
    assert {"name", "mean", "sd", "percentiles"} <= set(scenario)
    assert list(scenario["percentiles"]) == ["p10", "p50", "p90", "p95", "p99"]
    assert (scenario["name"], scenario["iterations"], data["seed"]) == ("standard", 20000, 5)
    assert data["portfolio"]["mean"] == scenario["mean"]
    assert {"var", "lec", "nodes", "convergence"} <= set(scenario)


def test_csv_html_and_plot_outputs_are_written(tmp_path: Path) -> None:
    base = ["run", str(STANDARD), "-n", "5000"]
    assert runner.invoke(app, [*base, "--format", "csv", "--out", str(tmp_path / "r.csv")]).exit_code == 0
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == "kind,name,mean,sd,p10,p50,p90,p95,p99,var_level,var"
    assert runner.invoke(app, [*base, "--format", "html", "--out", str(tmp_path / "r.html"),
                               "--plot", str(tmp_path / "lec.png")]).exit_code == 0
    assert "<svg" in (tmp_path / "r.html").read_text()
    assert (tmp_path / "lec.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_bundle_path_as_first_argument_prices_the_device(tmp_path: Path) -> None:
    target = Target(vendor="Acme", model="Cam", firmware_version="2", device_class="camera-speaker-internet")
    path = tmp_path / "bundle.json"
    Bundle(target=target, findings=[Finding(check="probe.telnet.open", outcome="fail", title="t")]).save(path)
    result = runner.invoke(app, [str(path), "--units", "5000", "--price", "80", "-n", "5000", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "privacy-breach" in [s["name"] for s in data["scenarios"]]
    assert data["after_fixing"]["portfolio"]["mean"] < data["portfolio"]["mean"]
    assert data["fixes"][0]["weakness"] == "telnet-exposed"


def test_compare_reports_each_file_against_the_first(tmp_path: Path) -> None:
    halved = tmp_path / "halved.yaml"
    halved.write_text(STANDARD.read_text().replace("lm: {pert: {low: 10000, mode: 50000, high: 500000}}",
                                                   "lm: {pert: {low: 5000, mode: 25000, high: 250000}}"))
    result = runner.invoke(app, ["compare", str(STANDARD), str(halved), "-n", "10000", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["comparison"]
    assert rows[1]["mean_change_ratio"] == pytest.approx(-0.5, abs=1e-9)  # same seed: exactly half


@pytest.mark.parametrize("content, expected", [
    ("scenarios:\n  - name: a\n    tef: {pert: [1, 0.5, 2]}\n    vulnerability: 0.5\n    lm: 1\n",
     "scenarios.0.tef.pert: expected low <= mode <= high"),
    ("scenarios:\n  - name: a\n    lef: {gauss: [1, 2]}\n    lm: 1\n", "scenarios.0.lef: unknown distribution 'gauss'; expected one of pert"),
    ("scenarios:\n  - name: a\n    tef: 1\n    lm: 1\n", "scenarios.0: missing vulnerability"),
    ("scenarios: [\n", "invalid YAML"),
])
def test_bad_scenario_files_give_one_line_errors_and_exit_2(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = runner.invoke(app, ["run", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ")
    assert expected in lines[0]


def test_a_missing_bundle_is_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, [str(tmp_path / "nope.json"), "--units", "1", "--price", "1"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.json'}: file not found"


def test_importing_the_cli_loads_no_numerical_libraries() -> None:
    code = ("import sys, iotmark.risk.cli; "
            "print([m for m in ('numpy', 'scipy', 'matplotlib', 'pydantic', 'rich') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"
