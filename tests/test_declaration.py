"""Vendor declaration: validation with one-line errors, findings from answers, conditions, template."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotmark.collect.declaration import (
    DeclarationError,
    collect_declaration,
    conditions,
    load_declaration,
    load_questions,
    template,
)
from iotmark.inputs import InputError

TODAY = dt.date(2026, 11, 25)
TARGET = {"vendor": "Northwind", "model": "SmartPlug P1", "firmware_version": "1.4.2", "device_class": "consumer-low"}


def write(tmp_path: Path, data: object, name: str = "declaration.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def by_check(findings, check):
    return [f for f in findings if f.check == check]


def test_answers_become_conceptual_findings(tmp_path: Path) -> None:
    path = write(tmp_path, {
        "target": TARGET,
        "support_period_end": dt.date(2030, 6, 30),
        "vulnerability_disclosure": {"policy_url": "https://northwind.example/security", "contact": "psirt@northwind.example"},
        "answers": {"default_password_scheme": "shared_default", "brute_force_protection": "lockout"},
    })
    result = collect_declaration(path, today=TODAY)
    [scheme] = by_check(result.findings, "declaration.default_password_scheme")
    assert (scheme.outcome, scheme.severity, scheme.assessment) == ("fail", "critical", "conceptual")
    assert scheme.provisions == ["etsi-en-303-645:5.1-1", "uk-psti:1"]
    assert scheme.evidence.path == "answers.default_password_scheme"
    [support] = by_check(result.findings, "declaration.support_period")
    assert (support.outcome, support.detail) == ("pass", "answered 2030-06-30")
    [policy] = by_check(result.findings, "declaration.disclosure_policy")
    assert policy.outcome == "pass"


def test_unanswered_question_is_not_tested_never_pass(tmp_path: Path) -> None:
    result = collect_declaration(write(tmp_path, {"target": TARGET}), today=TODAY)
    answerable = [q for q in load_questions() if q.provisions]
    assert len(result.findings) == len(answerable)
    assert {f.outcome for f in result.findings} == {"not_tested"}


def test_past_support_period_fails(tmp_path: Path) -> None:
    result = collect_declaration(write(tmp_path, {"target": TARGET, "support_period_end": "2025-01-31"}), today=TODAY)
    [support] = by_check(result.findings, "declaration.support_period")
    assert (support.outcome, support.detail) == ("fail", "answered 2025-01-31, which is already past")


def test_conditions_follow_answers_and_negation(tmp_path: Path) -> None:
    path = write(tmp_path, {"target": TARGET, "answers": {"constrained_device": False, "telemetry_collected": True,
                                                           "debug_interface_accessible": False}})
    conds = conditions(load_declaration(path))
    assert conds["not_constrained"] == (True, "answers.constrained_device")
    assert conds["telemetry_collected"] == (True, "answers.telemetry_collected")
    assert conds["debug_interface_physically_accessible"] == (False, "answers.debug_interface_accessible")


def test_unjustified_exception_fails_4_1(tmp_path: Path) -> None:
    path = write(tmp_path, {"target": TARGET, "provisions": {"5.7-1": {"applies": False}}})
    [finding] = by_check(collect_declaration(path, today=TODAY).findings, "declaration.ics.unjustified_exception")
    assert finding.outcome == "fail"
    assert finding.provisions == ["etsi-en-303-645:5.7-1", "etsi-en-303-645:4-1"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"target": {**TARGET, "vendor": ""}}, "field target.vendor: String should have at least 1 character"),
        ({"target": TARGET, "answers": {"secure_boot": "yes"}}, "field answers.secure_boot: expected true or false"),
        ({"target": TARGET, "answers": {"brute_force_protection": "magic"}},
         "field answers.brute_force_protection: expected one of none, rate_limit, backoff, lockout, not_applicable"),
        ({"target": TARGET, "vulnerability_disclosure": {"policy_url": "ftp://x"}},
         "field vulnerability_disclosure.policy_url: expected an http(s) URL"),
        ({"target": TARGET, "answers": {"no_such_question": True}}, "field answers.no_such_question: unknown question"),
        ({"target": TARGET, "surprise": 1}, "field surprise: Extra inputs are not permitted"),
        ({"answers": {}}, "field target: Field required"),
    ],
)
def test_bad_declarations_name_file_and_field(tmp_path: Path, data: dict, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InputError) as info:
        load_declaration(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert "\n" not in str(info.value)


def test_yaml_alias_bombs_are_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with pytest.raises(InputError, match="aliases are not accepted"):
        load_declaration(write(tmp_path, bomb))


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nesting deeper than 64"):
        load_declaration(write(tmp_path, "[" * 200 + "]" * 200, "deep.json"))


def test_oversized_declaration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (5 * 1024 * 1024))
    with pytest.raises(InputError, match="the limit is 4194304"):
        load_declaration(path)


def test_template_lists_every_question_and_provision(tmp_path: Path) -> None:
    text = template("consumer-low", [("5.1-1", "M C", "Unique passwords"), ("5.1-2", "M C", "Not guessable")])
    data = yaml.safe_load(text)
    assert data["target"]["device_class"] == "consumer-low"
    for question in load_questions():
        head, _, rest = question.path.partition(".")
        assert (rest in data[head]) if rest else (head in data)
    assert set(data["provisions"]) == {"5.1-1", "5.1-2"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_loader_survives_arbitrary_input(tmp_path: Path, blob: bytes | str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(blob if isinstance(blob, bytes) else blob.encode("utf-8", "surrogatepass"))
    try:
        load_declaration(path)
    except (InputError, DeclarationError):
        pass


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([q.path.split(".", 1)[1] for q in load_questions() if q.path.startswith("answers.")]),
                       st.one_of(st.booleans(), st.integers(), st.text(max_size=20), st.none()), max_size=8))
def test_any_answer_values_validate_or_fail_cleanly(tmp_path: Path, answers: dict) -> None:
    path = write(tmp_path, {"target": TARGET, "answers": answers})
    try:
        result = collect_declaration(path, today=TODAY)
    except InputError as exc:
        assert str(exc).startswith(str(path))
    else:
        assert all(f.outcome in ("pass", "fail", "not_tested") for f in result.findings)


def test_json_schema_accepts_the_sample_and_rejects_bad_answers() -> None:
    import jsonschema

    from iotmark.collect.declaration import json_schema
    from iotmark.workflows import sample_dir

    schema = json_schema()
    sample = yaml.safe_load((sample_dir() / "declaration.yaml").read_text())
    import json

    as_json = json.loads(json.dumps(sample, default=str))  # YAML dates -> ISO strings, as in a JSON declaration
    jsonschema.validate(as_json, schema, format_checker=jsonschema.FormatChecker())
    as_json["answers"]["brute_force_protection"] = "magic"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(as_json, schema)
    del as_json["answers"]["brute_force_protection"]
    as_json["answers"]["made_up"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(as_json, schema)
    assert schema["properties"]["answers"]["properties"]["secure_boot"]["anyOf"][0] == {
        "type": "boolean", "description": "Does the device verify its software with a secure boot mechanism?"}
