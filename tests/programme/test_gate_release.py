"""The release gate on real firmware builds (squashfs images of Debian BusyBox): exit codes 0/1/2, the reasons
it prints, regressions against the last release's bundle, and the SARIF it writes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from iotmark.assess.engine import assess
from iotmark.catalog import device_class
from iotmark.model import Bundle
from iotmark.programme.gate import Baseline, finding_identity, judge

from design_fixtures import (REPO, SAMPLE_DECLARATION, SAMPLE_FINDINGS, assert_one_line_error, build_plug_image,
                             run_iotmark)

SARIF_SCHEMA = REPO / "tests" / "data" / "sarif-2.1.0-subset.schema.json"


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The last release (passing, saved as the baseline bundle) and a regressing build of the same plug."""
    work = tmp_path_factory.mktemp("gate")
    good = build_plug_image(work, "release-1.5.0")
    weak = build_plug_image(work, "build-1.5.1", weak=True)
    baseline = work / "release-1.5.0.bundle.json"
    sarif = work / "release.sarif"
    first = run_iotmark("gate", good, "--class", "consumer-low", "--declaration", SAMPLE_DECLARATION,
                        "--findings", SAMPLE_FINDINGS, "--save-bundle", baseline, "--sarif", sarif)
    regressed = run_iotmark("gate", weak, "--class", "consumer-low", "--baseline", baseline,
                            "--sarif", work / "regressed.sarif", "--save-bundle", work / "regressed.bundle.json")
    return {"good": good, "weak": weak, "baseline": baseline, "sarif": sarif, "work": work,
            "first": first, "regressed": regressed}  # type: ignore[dict-item]


def _bundle(path: Path) -> Bundle:
    return Bundle.model_validate_json(path.read_text())


def _sarif(path: Path) -> dict:
    log = json.loads(path.read_text())
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    return log


def test_a_build_that_meets_its_class_passes_with_exit_0(builds) -> None:
    first = builds["first"]
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("release gate PASSED: Northwind Devices SmartPlug P1 1.5.0, level 1 (Baseline); "
                                   "class consumer-low requires 1")
    saved = json.loads(builds["baseline"].read_text())
    assert saved["target"]["device_class"] == "consumer-low"
    assert {s["kind"] for s in saved["sources"]} == {"firmware", "declaration", "manual"}


def test_the_passing_builds_sarif_has_one_result_per_failing_finding(builds) -> None:
    log = _sarif(builds["sarif"])
    saved = json.loads(builds["baseline"].read_text())
    failing = [f for f in saved["findings"] if f["outcome"] == "fail"]
    results = log["runs"][0]["results"]
    assert log["version"] == "2.1.0"
    assert len(results) == len(failing) and all(r["kind"] == "fail" for r in results)
    assert sorted(r["ruleId"] for r in results) == sorted(f["check"] for f in failing)
    assert log["runs"][0]["properties"]["gate"]["passed"] is True
    assert all("baselineState" not in r for r in results)  # no baseline, nothing to compare


def test_the_same_build_against_its_own_baseline_passes(builds) -> None:
    again = run_iotmark("gate", builds["good"], "--class", "consumer-low", "--baseline", builds["baseline"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert "last release reached 1" in again.stdout
    assert "note: carried over from the baseline: declaration, manual evidence" in again.stdout


def test_a_regressing_build_fails_with_exit_1_and_says_why(builds) -> None:
    sarif = builds["work"] / "regressed.sarif"
    result = builds["regressed"]
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("release gate FAILED:") and "last release reached 1" in lines[0]
    assert "  - level dropped from 1 (Baseline) to 0" in lines
    assert "  - provision 5.1-1 was PASS and now fails: critical: Account root has an empty password" in lines
    assert ("  - new critical finding firmware.accounts.empty_password (/etc/shadow): Account root has an empty "
            "password") in lines
    assert "  - new high finding firmware.services.telnetd (/etc/init.d/rcS): Telnet server telnetd starts at boot" in lines

    log = _sarif(sarif)
    results = log["runs"][0]["results"]
    new = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
           for r in results if r["baselineState"] == "new"}
    assert new == {("firmware.accounts.empty_password", "etc/shadow"), ("firmware.services.telnetd", "etc/init.d/rcS")}
    assert all(r["baselineState"] == "unchanged" for r in results if r["ruleId"] not in dict(new))
    assert log["runs"][0]["properties"]["gate"]["passed"] is False


def test_the_regressing_build_alone_fails_for_its_class_level(builds) -> None:
    weak = _bundle(builds["work"] / "regressed.bundle.json")
    verdict = judge(weak, assess(weak))
    assert (verdict.passed, verdict.level, verdict.required_level) == (False, 0, 1)
    assert verdict.reasons == ["level 0 (Not certified) is below the 1 that class consumer-low requires: 5.1-1: FAIL"]


def test_a_higher_class_fails_the_passing_build(builds) -> None:
    good = _bundle(builds["baseline"])
    verdict = judge(good, assess(good, device_class=device_class("home-gateway")))
    assert not verdict.passed and verdict.required_level == 3
    assert verdict.reasons[0].startswith("level 1 (Baseline) is below the 3 that class home-gateway requires: ")


def test_an_assessment_as_baseline_compares_levels_and_provisions(builds) -> None:
    release = Baseline(assessment=assess(_bundle(builds["baseline"])))
    weak = _bundle(builds["work"] / "regressed.bundle.json")
    verdict = judge(weak, assess(weak), release)
    assert "level dropped from 1 (Baseline) to 0" in verdict.reasons
    assert not any(r.startswith("new ") for r in verdict.reasons)  # no findings in an assessment to compare
    assert verdict.notes == ["baseline is an assessment without findings: new findings cannot be told apart"]


def test_moved_lines_do_not_make_a_finding_new() -> None:
    from iotmark.model import Finding

    before = Finding(check="firmware.services.telnetd", outcome="fail", title="t", evidence={"path": "/etc/rcS", "line": 3})
    after = before.model_copy(update={"evidence": before.evidence.model_copy(update={"line": 9})})
    assert finding_identity(before) == finding_identity(after) and before.key != after.key


@pytest.mark.parametrize(("args", "expected"), [
    (["missing.bin", "--class", "consumer-low"], "missing.bin: file not found"),
    (["{good}", "--class", "toaster"], "unknown device class 'toaster'"),
    (["{text}", "--class", "consumer-low"], "not a firmware image iotmark can read"),
    (["{good}", "--class", "consumer-low", "--baseline", "{text}"], "expected a bundle or an assessment"),
    (["{good}", "--class", "consumer-low", "--baseline", "{broken}"], "invalid JSON at line 1"),
])
def test_unusable_input_exits_2_with_one_line(builds, tmp_path: Path, args: list[str], expected: str) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("release notes, not firmware\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"target": ')
    names = {"good": builds["good"], "text": text, "broken": broken}
    line = assert_one_line_error(run_iotmark("gate", *[a.format(**names) for a in args], cwd=tmp_path))
    assert expected in line
