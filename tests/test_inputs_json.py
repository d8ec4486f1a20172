"""Specification of `load_json_bytes`, the one parser of untrusted JSON bytes, and of the callers' own wordings."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from iotmark.assess.certificate import init_keys, revoke, verify_certificate
from iotmark.collect.sbom import SbomError, collect_sbom
from iotmark.inputs import InputError, JsonInputError, load_bundle, load_json_bytes
from iotmark.mitigate.flows import read_conn_log
from iotmark.mitigate.untrusted import BadInput, parse_json
from iotmark.registry.interop.cta2120 import RecordError, parse_list
from iotmark.registry.publish import PublishError, publish
from iotmark.vulns.db import VulnImportError
from iotmark.vulns.importers import import_files

BOM = b"\xef\xbb\xbf"
BOMB_DEPTH = 100_000


def nested_lists(depth: int) -> bytes:
    """`depth` lists, one inside the other, around a 0: `nested_lists(2)` is `[[0]]`."""
    return b"[" * depth + b"0" + b"]" * depth


def refusal(data: bytes, **limits) -> JsonInputError:
    limits = {"max_bytes": None, "max_depth": 8} | limits
    with pytest.raises(JsonInputError) as caught:
        load_json_bytes(data, **limits)
    return caught.value


# ---------------------------------------------------------------- size


def test_a_document_exactly_at_the_size_limit_is_parsed() -> None:
    data = b'{"name": "thermostat"}'
    assert load_json_bytes(data, max_bytes=len(data), max_depth=8) == {"name": "thermostat"}


def test_one_byte_over_the_size_limit_is_too_large_with_size_and_limit() -> None:
    data = b'{"name": "thermostat"} '
    exc = refusal(data, max_bytes=len(data) - 1)
    assert (exc.kind, exc.size, exc.limit) == ("too_large", 23, 22)
    assert str(exc) == "JSON is 23 bytes; the limit is 22"


def test_size_is_checked_before_the_bytes_are_decoded() -> None:
    assert refusal(b"\xff" * 10 + b"[" * 10, max_bytes=9).kind == "too_large"


def test_without_a_size_limit_a_large_document_is_parsed() -> None:
    data = b"[" + b",".join([b'"' + b"x" * 1000 + b'"'] * 3000) + b"]"
    assert len(load_json_bytes(data, max_bytes=None, max_depth=8)) == 3000


# ---------------------------------------------------------------- encoding


def test_invalid_utf8_names_the_offset_of_the_first_bad_byte() -> None:
    exc = refusal(b'{"name": "caf\xe9"}')
    assert (exc.kind, exc.byte) == ("not_utf8", 13)
    assert str(exc) == "not UTF-8 at byte 13"


def test_a_truncated_multibyte_character_is_not_utf8() -> None:
    assert (refusal(b'["\xe2\x82').kind, refusal(b'["\xe2\x82').byte) == ("not_utf8", 2)


def test_utf16_is_not_accepted_as_utf8() -> None:
    assert refusal('{"a": 1}'.encode("utf-16")).kind == "not_utf8"


def test_a_bom_is_a_syntax_error_unless_allowed() -> None:
    exc = refusal(BOM + b"[1]")
    assert (exc.kind, exc.line, exc.column) == ("syntax", 1, 1)
    assert exc.detail == "Unexpected UTF-8 BOM (decode using utf-8-sig)"
    assert load_json_bytes(BOM + b"[1]", max_bytes=None, max_depth=8, allow_bom=True) == [1]


def test_only_one_leading_bom_is_skipped() -> None:
    assert refusal(BOM + BOM + b"[1]", allow_bom=True).kind == "syntax"
    assert load_json_bytes(b"[1]", max_bytes=None, max_depth=8, allow_bom=True) == [1]


def test_a_bad_byte_offset_counts_the_skipped_bom() -> None:
    exc = refusal(BOM + b'["\xff"]', allow_bom=True)
    assert (exc.kind, exc.byte) == ("not_utf8", 5)


def test_the_size_limit_counts_the_bom() -> None:
    data = BOM + b"[1]"
    assert load_json_bytes(data, max_bytes=6, max_depth=8, allow_bom=True) == [1]
    assert refusal(data, max_bytes=5, allow_bom=True).kind == "too_large"


# ---------------------------------------------------------------- syntax


@pytest.mark.parametrize(("data", "line", "column", "detail"), [
    (b'{"ports": [22, 23', 1, 18, "Expecting ',' delimiter"),
    (b'{\n  "ports": [22,\n', 3, 1, "Expecting value"),
    (b"", 1, 1, "Expecting value"),
    (b'{"a": 1} {"b": 2}', 1, 10, "Extra data"),
    (b"{'a': 1}", 1, 2, "Expecting property name enclosed in double quotes"),
])
def test_a_syntax_error_says_where_the_decoder_stopped(data: bytes, line: int, column: int, detail: str) -> None:
    exc = refusal(data)
    assert (exc.kind, exc.line, exc.column, exc.detail) == ("syntax", line, column, detail)
    assert str(exc) == f"invalid JSON at line {line} column {column}: {detail}"


def test_an_integer_past_the_digit_limit_is_refused_not_raised_as_valueerror() -> None:
    exc = refusal(b"[" + b"9" * 5000 + b"]")
    assert exc.kind == "number_too_long"
    assert exc.detail == "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits"


def test_nan_and_infinity_are_accepted_as_floats() -> None:
    value = load_json_bytes(b"[NaN, Infinity, -Infinity, 1e400]", max_bytes=None, max_depth=8)
    assert math.isnan(value[0]) and value[1:] == [math.inf, -math.inf, math.inf]


# ---------------------------------------------------------------- nesting


def test_nesting_at_the_limit_is_parsed_and_one_more_is_too_deep() -> None:
    expected: object = 0
    for _ in range(8):
        expected = [expected]
    assert load_json_bytes(nested_lists(8), max_bytes=None, max_depth=8) == expected
    exc = refusal(nested_lists(9))
    assert (exc.kind, exc.limit) == ("too_deep", 8)
    assert str(exc) == "JSON nested deeper than 8 levels"


def test_objects_count_as_levels_like_lists() -> None:
    assert load_json_bytes(b'{"a": {"b": []}}', max_bytes=None, max_depth=3) == {"a": {"b": []}}
    assert refusal(b'{"a": {"b": [[]]}}', max_depth=3).kind == "too_deep"


@pytest.mark.parametrize("bomb", [
    b"[" * BOMB_DEPTH,
    nested_lists(BOMB_DEPTH),
    b'{"a":' * BOMB_DEPTH + b"1" + b"}" * BOMB_DEPTH,
])
def test_a_100000_deep_bomb_is_too_deep_not_a_recursion_error(bomb: bytes) -> None:
    exc = refusal(bomb, max_bytes=1024 * 1024, max_depth=64)
    assert (exc.kind, exc.limit) == ("too_deep", 64)


def test_nesting_past_the_limit_but_within_the_stack_is_measured_after_parsing() -> None:
    assert refusal(nested_lists(200), max_depth=64).kind == "too_deep"


def test_the_refusal_is_an_input_error_with_a_one_line_message() -> None:
    exc = refusal(b'{\n"a": [\n')
    assert isinstance(exc, InputError) and "\n" not in str(exc)


# ---------------------------------------------------------------- the callers keep their own words


CALLER_CASES = {
    "truncated": b'{"records": [',
    "not_utf8": b'{"a": "\xff"}',
    "bomb": b"[" * BOMB_DEPTH,
    "long_integer": b"[" + b"1" * 5000 + b"]",
}
LONG_INTEGER = "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits"


def written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


READERS = {  # name -> (parse the bytes, given a file to put them in; the error it raises)
    "mitigate": (lambda data, path: parse_json(data), BadInput),
    "cta2120": (lambda data, path: parse_list(data, "page 2"), RecordError),
    "vulns": (lambda data, path: import_files([written(path, data)], dest=path.parent / "store.json"),
              VulnImportError),
    "sbom": (lambda data, path: collect_sbom(written(path, data)), SbomError),
    "bundle": (lambda data, path: load_bundle(written(path, data)), InputError),
}


@pytest.mark.parametrize(("reader", "case", "message"), [
    ("mitigate", "truncated", "invalid JSON at line 1 column 14: Expecting value"),
    ("mitigate", "not_utf8", "not UTF-8 at byte 7"),
    ("mitigate", "bomb", "JSON nested deeper than 48 levels"),
    ("mitigate", "long_integer", f"invalid JSON: {LONG_INTEGER}"),
    ("cta2120", "truncated", "page 2 is not valid JSON: line 1 column 14: Expecting value"),
    ("cta2120", "not_utf8", "page 2 is not UTF-8 text (byte 7)"),
    ("cta2120", "bomb", "page 2 is nested more than 8 levels deep"),
    ("cta2120", "long_integer", f"page 2 is not valid JSON: {LONG_INTEGER}"),
    ("vulns", "truncated", "{path}: not valid JSON (Expecting value at line 1 column 14)"),
    ("vulns", "not_utf8", "{path}: not UTF-8 text"),
    ("vulns", "bomb", "{path}: JSON nested deeper than 64 levels"),
    ("vulns", "long_integer", f"{{path}}: not valid JSON ({LONG_INTEGER})"),
    ("sbom", "truncated", "input.json: not valid JSON (Expecting value at line 1 column 14)"),
    ("sbom", "not_utf8", "input.json: not UTF-8 text; expected a JSON SBOM"),
    ("sbom", "bomb", "input.json: JSON nested too deeply; expected at most 64 levels"),
    ("sbom", "long_integer", f"input.json: not valid JSON ({LONG_INTEGER})"),
    ("bundle", "truncated", "{path}: invalid JSON at line 1 column 14: Expecting value"),
    ("bundle", "not_utf8", "{path}: not UTF-8 text (byte 7)"),
    ("bundle", "bomb", "{path}: nesting deeper than 64 levels"),
    ("bundle", "long_integer", f"{{path}}: invalid JSON: {LONG_INTEGER}"),
])
def test_each_caller_keeps_its_own_wording(tmp_path: Path, reader: str, case: str, message: str) -> None:
    parse, error = READERS[reader]
    path = tmp_path / "input.json"
    with pytest.raises(error) as caught:
        parse(CALLER_CASES[case], path)
    assert str(caught.value) == message.format(path=path)


def test_mitigate_parse_json_refuses_a_bom() -> None:
    with pytest.raises(BadInput, match="Unexpected UTF-8 BOM"):
        parse_json(BOM + b"{}")


def test_cta2120_record_list_refuses_a_bom_and_one_byte_too_many() -> None:
    with pytest.raises(RecordError, match="document is not valid JSON: line 1 column 1: Unexpected UTF-8 BOM"):
        parse_list(BOM + b"{}")
    with pytest.raises(RecordError, match="^document is 8388609 bytes; the limit is 8388608$"):
        parse_list(b"{}" + b" " * (8 * 1024 * 1024 - 1))


def test_vulnerability_import_skips_a_bom(tmp_path: Path) -> None:
    record = {"schema_version": "1.6.0", "id": "OSV-2024-0001", "modified": "2024-01-02T03:04:05Z",
              "summary": "Overflow in bar", "affected": [{
                  "package": {"ecosystem": "OSS-Fuzz", "name": "libbar"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}]}]}
    path = tmp_path / "OSV-2024-0001.json"
    path.write_bytes(BOM + json.dumps(record).encode())
    result = import_files([path], dest=tmp_path / "store.json")
    assert (result.files[0].format, result.imported) == ("osv", 1)


# ---------------------------------------------------------------- readers that used to crash on hostile JSON


@pytest.fixture()
def issuer_keys(tmp_path: Path) -> Path:
    init_keys(tmp_path / "keys")
    return tmp_path / "keys"


def test_a_certificate_that_is_a_nesting_bomb_is_not_a_json_certificate(tmp_path: Path, issuer_keys: Path) -> None:
    path = written(tmp_path / "certificate.json", b"[" * BOMB_DEPTH)
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: not a JSON certificate$"):
        verify_certificate(path, [issuer_keys / "issuer.pub"])


def test_a_revocation_list_that_is_a_nesting_bomb_is_refused(issuer_keys: Path) -> None:
    path = written(issuer_keys / "revocations.json", b'{"revoked": ' * BOMB_DEPTH)
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: not an iotmark revocation list$"):
        revoke(issuer_keys, "cert-1", "key compromise")


class _BombReply(BaseHTTPRequestHandler):
    """A 'registry' that answers every upload with 201 and a 100,000-deep JSON array."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"[" * BOMB_DEPTH
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def bomb_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BombReply)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_publish_reports_a_nesting_bomb_reply_as_not_a_registry(tmp_path: Path, bomb_registry: str) -> None:
    certificate = written(tmp_path / "certificate.json", b"{}")
    assessment = written(tmp_path / "assessment.json", b"{}")
    with pytest.raises(PublishError) as caught:
        publish(bomb_registry, certificate, assessment, token="t", timeout=10)
    expected = "the reply is not the registry's JSON; is this a registry?"
    assert str(caught.value) == f"{bomb_registry}/api/certificates: {expected}"


@pytest.mark.parametrize("record", [b'{"ts": ' + b"1" * 5000 + b"}", b'{"ts": ' + b"[" * 20_000])
def test_a_conn_log_json_record_with_a_long_integer_or_a_bomb_is_an_invalid_record(tmp_path: Path,
                                                                                  record: bytes) -> None:
    log = written(tmp_path / "conn.log", b"#separator \\x09\n" + record + b"\n")
    with pytest.raises(BadInput) as caught:
        list(read_conn_log(log))
    assert str(caught.value) == "line 2: invalid JSON record"
