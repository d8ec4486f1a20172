"""CTA-2120 label records: iotmark's JSON Schema for them, parsing with limits, and the mapping from a stored
certificate (plus, when available, the vendor's declaration and profile) to a record.

Field names follow CTA-2120 "USCTM Registry and Label Data Definitions" v1.0.0; their types and meanings are
iotmark's interpretation, written down in data/cta2120-record.schema.json. A field the evidence cannot fill is
null, with the reason under `x_iotmark_notes`; nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from iotmark.inputs import JsonInputError, load_json_bytes
from iotmark.model import Assessment, Declaration
from iotmark.model import Certificate as SignedCertificate

LIST_SCHEMA_ID = "iotmark-cta2120-records/1"
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_RECORDS = 5000
MAX_DEPTH = 8  # list -> records -> record -> x_iotmark_* object -> value is 4; leave room, refuse anything silly
RECORD_FIELDS = ("QR_code_url", "product_name", "manufacturer_name", "authorization_date", "authorized_by",
                 "tested_by", "access_control", "security_update_information", "support_date",
                 "sensor_data_collection", "delete_data", "account_deactivation", "encryption_and_key_management",
                 "security_contact", "sbom_hbom_available", "created", "modified")
VERDICT_WORDS = {"PASS": "met", "FAIL": "not met", "NOT_APPLICABLE": "not applicable", "INCONCLUSIVE": "undecided"}


class RecordError(ValueError):
    """A record or record list that is not acceptable; the message is one line naming where."""


class VendorProfile(BaseModel):
    """What a vendor states about a product outside the assessment (all optional; unknown stays None)."""

    model_config = ConfigDict(extra="forbid")

    security_contact: str | None = Field(default=None, max_length=500)
    account_deactivation: str | None = Field(default=None, max_length=4000)
    sbom_hbom_available: bool | None = None


def _data_text(name: str) -> str:
    return resources.files("iotmark.registry.interop").joinpath("data", name).read_text("utf-8")


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(_data_text("cta2120-record.schema.json"))


@functools.lru_cache(maxsize=1)
def evidence_map() -> dict[str, Any]:
    return yaml.safe_load(_data_text("cta2120-evidence.yaml"))


@functools.lru_cache(maxsize=2)
def _validator(part: str):
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource

    root = schema()
    registry = Registry().with_resource(root["$id"], Resource.from_contents(root))
    target = root if part == "list" else {"$ref": f"{root['$id']}#/$defs/record"}
    return Draft202012Validator(target, registry=registry, format_checker=FormatChecker())


def _describe(error, prefix: list[Any]) -> str:
    """One line: `record 3: field support_date: ...` (or the list-level field) for a jsonschema error."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        # "X or null": report why X did not match rather than "not valid under any of the given schemas"
        specific = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if specific:
            return _describe(min(specific, key=lambda e: e.validator == "type"), prefix)
    path = prefix + list(error.absolute_path)
    where: list[str] = []
    if len(path) >= 2 and path[0] in ("records", "withdrawn") and isinstance(path[1], int):
        where.append(f"{'record' if path[0] == 'records' else 'withdrawn entry'} {path[1]}")
        path = path[2:]
    if error.validator == "required":
        missing = next((name for name in error.validator_value if name not in error.instance), "?")
        path = path + [missing]
        message = "is missing"
    elif error.validator in ("pattern", "format"):
        kind = {"uri": "http(s) URL", "date": "date (YYYY-MM-DD)", "date-time": "time (ISO 8601 with a time zone)"}
        expected = kind.get(error.schema.get("format", ""), "value of the expected form")
        message = f"{error.instance!r:.80} is not a valid {expected}"
    elif error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        path = path + [next((name for name in error.instance if name not in known), "?")]
        message = "unknown field"
    else:
        message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    field = ".".join(str(part) for part in path)
    where.append(f"field {field}" if field else "top level")
    return ": ".join(where + [message])


def _first_error(validator, data: Any, prefix: list[Any]) -> str | None:
    # first by position in the document: record 2 before record 10, then by field name
    errors = sorted(validator.iter_errors(data),
                    key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.absolute_path])
    return _describe(errors[0], prefix) if errors else None


def validate_record(record: Any) -> None:
    problem = _first_error(_validator("record"), record, [])
    if problem:
        raise RecordError(problem)


def validate_list(document: Any) -> None:
    """Raise RecordError naming the first bad record index and field of a record list document."""
    if not isinstance(document, dict):
        raise RecordError(f"top level: expected a JSON object with a `records` list, got {type(document).__name__}")
    records = document.get("records")
    if isinstance(records, list) and len(records) > MAX_RECORDS:
        raise RecordError(f"field records: {len(records)} records; at most {MAX_RECORDS} per document")
    problem = _first_error(_validator("list"), document, [])
    if problem:
        raise RecordError(problem)


def parse_list(raw: bytes, what: str = "document") -> dict[str, Any]:
    """Bytes of a record list -> the validated document, with size, depth and count limits. Errors start with
    `what` when it is not the default, e.g. `page 2: record 0: field ...`."""
    try:
        return _parse_list(raw, what)
    except RecordError as exc:
        if what == "document" or str(exc).startswith(what):
            raise
        raise RecordError(f"{what}: {exc}") from None


def _parse_list(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = load_json_bytes(raw, max_bytes=MAX_DOCUMENT_BYTES, max_depth=MAX_DEPTH)
    except JsonInputError as exc:
        raise RecordError(_json_refusal(exc, what)) from None
    validate_list(data)
    return data


def _json_refusal(exc: JsonInputError, what: str) -> str:
    if exc.kind == "too_large":
        return f"{what} is {exc.size} bytes; the limit is {exc.limit}"
    if exc.kind == "not_utf8":
        return f"{what} is not UTF-8 text (byte {exc.byte})"
    if exc.kind == "too_deep":
        return f"{what} is nested more than {exc.limit} levels deep"
    if exc.kind == "syntax":
        return f"{what} is not valid JSON: line {exc.line} column {exc.column}: {exc.detail}"
    return f"{what} is not valid JSON: {exc.detail}"


def timestamp(value: dt.datetime) -> str:
    """UTC, microseconds, `Z`: the one timestamp form records carry."""
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_timestamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def _verdict_line(assessment: Assessment, topic: str, provisions: list[str]) -> str | None:
    wanted = set(provisions)
    found = [v for v in assessment.verdicts if v.provision in wanted]
    if not found:
        return None
    counts: dict[str, list[str]] = {}
    for verdict in found:
        counts.setdefault(verdict.verdict.value, []).append(verdict.provision)
    parts = []
    for value, word in VERDICT_WORDS.items():
        ids = counts.get(value, [])
        if ids:
            listed = f" ({', '.join(ids)})" if value in ("FAIL", "INCONCLUSIVE") else ""
            parts.append(f"{len(ids)} {word}{listed}")
    return (f"Tested on {topic} against ETSI EN 303 645 {assessment.standard_version}: "
            f"{len(found)} requirements, {', '.join(parts)}.")


def _declared(declaration: Declaration | None, field: str) -> str | None:
    """What the vendor's declaration adds to a field, in plain words; None when it says nothing about it."""
    if declaration is None:
        return None
    answers, updates = declaration.answers, declaration.update_mechanism
    if field == "access_control":
        bits = []
        if answers.get("default_password_scheme"):
            bits.append(f"pre-installed passwords: {str(answers['default_password_scheme']).replace('_', ' ')}")
        if answers.get("password_change_method"):
            bits.append(f"to change the password: {answers['password_change_method']}")
        return "The maker states " + "; ".join(bits) + "." if bits else None
    if field == "security_update_information":
        bits = []
        if updates.get("method"):
            bits.append(f"updates are {updates['method']}")
        if isinstance(updates.get("security_fix_days"), int):
            bits.append(f"security fixes within {updates['security_fix_days']} days")
        return "The maker states " + "; ".join(bits) + "." if bits else None
    if field == "sensor_data_collection" and declaration.data_categories:
        return "The maker declares the device collects: " + ", ".join(declaration.data_categories) + "."
    if field == "security_contact":
        disclosure = declaration.vulnerability_disclosure
        contact = disclosure.get("contact") or disclosure.get("policy_url")
        return str(contact)[:500] if contact else None
    return None


def build_record(cert: SignedCertificate, assessment: Assessment, tested_by: str, created: dt.datetime,
                 modified: dt.datetime, declaration: Declaration | None = None,
                 profile: VendorProfile | None = None) -> dict[str, Any]:
    """The CTA-2120 record of one signed certificate; unfillable fields are null with the reason noted."""
    mapping = evidence_map()
    notes: dict[str, str] = {}
    record: dict[str, Any] = {
        "QR_code_url": cert.verify_url,
        "product_name": cert.target.model + (f" ({cert.target.hardware_version})" if cert.target.hardware_version else ""),
        "manufacturer_name": cert.target.vendor,
        "authorization_date": cert.issued.isoformat(),
        "authorized_by": cert.issuer,
        "tested_by": tested_by,
    }
    same_standard = assessment.standard == mapping["standard"]
    for field, rule in mapping["fields"].items():
        line = _verdict_line(assessment, rule["topic"], rule["provisions"]) if same_standard else None
        extra = _declared(declaration, field)
        text = " ".join(part for part in (line, extra) if part)
        record[field] = text or None
        if not text:
            notes[field] = mapping["null_reasons"]["other_standard" if not same_standard else field]
    support = cert.target.support_until
    record["support_date"] = support.isoformat() if support else None
    record["sensor_data_collection"] = _declared(declaration, "sensor_data_collection")
    record["account_deactivation"] = profile.account_deactivation if profile else None
    record["security_contact"] = (profile.security_contact if profile and profile.security_contact
                                  else _declared(declaration, "security_contact"))
    record["sbom_hbom_available"] = profile.sbom_hbom_available if profile else None
    for field in ("support_date", "sensor_data_collection", "account_deactivation", "security_contact",
                  "sbom_hbom_available"):
        if record[field] is None:
            notes[field] = mapping["null_reasons"][field]
    record["created"], record["modified"] = timestamp(created), timestamp(modified)
    ordered = {name: record[name] for name in RECORD_FIELDS}
    ordered["x_iotmark_notes"] = notes
    ordered["x_iotmark_certificate"] = {
        "id": cert.id, "firmware_version": cert.target.firmware_version, "device_class": cert.device_class,
        "standard": cert.standard, "standard_version": cert.standard_version, "level": cert.level,
        "level_name": cert.level_name, "expires": cert.expires.isoformat()}
    return ordered
