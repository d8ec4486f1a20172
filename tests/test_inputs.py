"""Loaders of untrusted files (bundles, certificates, saved findings) fail with one clear line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iotmark.assess.certificate import verify_certificate
from iotmark.inputs import InputError, load_bundle
from iotmark.workflows import load_findings_file

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
VALID_TARGET = {"vendor": "a", "model": "b", "firmware_version": "1", "device_class": "consumer-low"}


def _one_line(exc: Exception, path: Path) -> None:
    message = str(exc)
    assert message.startswith(str(path)) and "\n" not in message


@FUZZ
@given(st.binary(max_size=400))
def test_bundle_loader_on_arbitrary_bytes(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(blob)
    try:
        load_bundle(path)
    except InputError as exc:
        _one_line(exc, path)


@FUZZ
@given(json_values)
def test_bundle_loader_on_arbitrary_json(tmp_path: Path, value: object) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"target": VALID_TARGET, "findings": value}))
    try:
        load_bundle(path)
    except InputError as exc:
        _one_line(exc, path)


@FUZZ
@given(st.dictionaries(st.sampled_from(["check", "outcome", "severity", "title", "evidence", "provisions", "confidence",
                                        "kind", "cve"]), json_values, max_size=6))
def test_saved_findings_loader(tmp_path: Path, finding: dict) -> None:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"findings": [finding]}))
    try:
        findings, source = load_findings_file(path)
    except InputError as exc:
        _one_line(exc, path)
    else:
        assert len(findings) == 1 and source.sha256


@FUZZ
@given(st.binary(max_size=600))
def test_certificate_reader_on_arbitrary_bytes(tmp_path: Path, blob: bytes) -> None:
    from iotmark.assess.certificate import init_keys

    keys = tmp_path / "k"
    if not keys.exists():
        init_keys(keys)
    path = tmp_path / "cert.json"
    path.write_bytes(blob)
    try:
        result = verify_certificate(path, [keys / "issuer.pub"])
    except InputError as exc:
        _one_line(exc, path)
    else:
        assert not result.valid


def test_huge_bundle_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    with path.open("wb") as handle:
        handle.truncate(257 * 1024 * 1024)  # sparse: no disk used
    try:
        load_bundle(path)
    except InputError as exc:
        assert "the limit is 268435456" in str(exc)
    else:
        raise AssertionError("an oversized bundle was accepted")


def test_nesting_depth_counts_open_containers_and_the_limit_is_inclusive(tmp_path: Path) -> None:
    from iotmark.inputs import MAX_DEPTH, nesting_depth, read_structured

    assert nesting_depth([], 64) == 1
    assert nesting_depth([1, {"a": "b"}], 64) == 2
    assert nesting_depth("scalar", 64) == 0
    at_limit = tmp_path / "at.json"
    at_limit.write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH, encoding="utf-8")
    assert nesting_depth(read_structured(at_limit), MAX_DEPTH) == MAX_DEPTH
    past = tmp_path / "past.json"
    past.write_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), encoding="utf-8")
    try:
        read_structured(past)
    except InputError as exc:
        assert f"nesting deeper than {MAX_DEPTH} levels" in str(exc)
    else:
        raise AssertionError("JSON one level past the limit was accepted")
