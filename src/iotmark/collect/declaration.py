"""Vendor declaration collector: the implementation conformance statement and IXIT answers -> findings.

The questionnaire lives in `collect/data/declaration-questions.yaml`. Each answered question becomes a
*conceptual* finding (TS 103 701 assesses documentation conceptually); unanswered questions become
`not_tested`, never `pass`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from iotmark.collect.base import make_finding
from iotmark.inputs import InputError, load_model, read_bytes
from iotmark.model import Declaration, EvidenceSource, Finding, Severity, sha256_hex

URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DeclarationError(InputError):
    pass


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    path: str
    type: Literal["bool", "string", "url", "email", "int", "date", "choice"]
    text: str
    provisions: list[str] = Field(default_factory=list)
    severity: Severity = "medium"
    ixit: str | None = None
    condition: str | None = None
    negate: bool = False
    expect: bool = True
    choices: list[str] = Field(default_factory=list)
    fail_values: list[str] = Field(default_factory=list)
    max: int | None = None
    future: bool = False


@functools.lru_cache(maxsize=1)
def load_questions() -> tuple[Question, ...]:
    text = resources.files("iotmark.collect").joinpath("data", "declaration-questions.yaml").read_text("utf-8")
    return tuple(Question.model_validate(q) for q in yaml.safe_load(text)["questions"])


def _lookup(declaration: Declaration, path: str) -> Any:
    """Read a dotted path such as `update_mechanism.signed` from the declaration; None when absent."""
    head, _, rest = path.partition(".")
    node: Any = getattr(declaration, head)
    for part in rest.split(".") if rest else []:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _type_error(question: Question, value: Any) -> str | None:
    """Why `value` is not an acceptable answer to `question`, or None when it is."""
    kind = question.type
    if kind == "bool" and not isinstance(value, bool):
        return "expected true or false"
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return "expected a whole number"
    if kind == "date" and not isinstance(value, dt.date):
        return "expected a date (YYYY-MM-DD)"
    if kind in ("string", "url", "email", "choice") and not isinstance(value, str):
        return "expected text"
    if kind == "url" and not URL_RE.match(value):
        return "expected an http(s) URL"
    if kind == "email" and not EMAIL_RE.match(value):
        return "expected an e-mail address"
    if kind == "choice" and value not in question.choices:
        return f"expected one of {', '.join(question.choices)}"
    return None


def validate_answers(declaration: Declaration, source: str) -> None:
    """Type-check every answered question; raise DeclarationError naming the first bad field."""
    known_answers = {q.path.split(".", 1)[1] for q in load_questions() if q.path.startswith("answers.")}
    for key in declaration.answers:
        if key not in known_answers:
            raise DeclarationError(f"{source}: field answers.{key}: unknown question (see `iotmark declaration template`)")
    for question in load_questions():
        value = _lookup(declaration, question.path)
        if value is None or (isinstance(value, str) and not value.strip() and question.type != "string"):
            continue
        problem = _type_error(question, value)
        if problem:
            raise DeclarationError(f"{source}: field {question.path}: {problem} (got {value!r:.60})")


def load_declaration(path: Path) -> Declaration:
    declaration = load_model(path, Declaration, max_bytes=4 * 1024 * 1024)
    validate_answers(declaration, str(path))
    return declaration


def conditions(declaration: Declaration) -> dict[str, tuple[bool, str]]:
    """Truth of each catalog condition the declaration states, with the answer path that stated it."""
    out: dict[str, tuple[bool, str]] = {}
    for question in load_questions():
        if not question.condition:
            continue
        value = _lookup(declaration, question.path)
        if isinstance(value, bool):
            out[question.condition] = (value != question.negate, question.path)
    return out


def _evaluate(question: Question, value: Any, today: dt.date) -> tuple[str, str]:
    """(outcome, detail) for one answered question."""
    if question.type == "bool":
        ok = value is question.expect
        return ("pass" if ok else "fail", f"answered {'yes' if value else 'no'}")
    if question.type == "choice":
        return ("fail" if value in question.fail_values else "pass", f"answered {value}")
    if question.type == "int":
        if question.max is not None and value > question.max:
            return ("fail", f"answered {value}; at most {question.max} is expected")
        return ("pass", f"answered {value}")
    if question.type == "date":
        if question.future and value < today:
            return ("fail", f"answered {value.isoformat()}, which is already past")
        return ("pass", f"answered {value.isoformat()}")
    text = str(value).strip()
    if not text:
        return ("not_tested", "left empty")
    return ("pass", f"answered: {text[:200]}")


@dataclass
class DeclarationResult:
    declaration: Declaration
    findings: list[Finding]
    source: EvidenceSource
    conditions: dict[str, tuple[bool, str]] = field(default_factory=dict)


def declaration_findings(declaration: Declaration, source_name: str, today: dt.date | None = None) -> list[Finding]:
    """Turn answers and the conformance statement into conceptual findings."""
    today = today or dt.date.today()
    findings: list[Finding] = []
    for question in load_questions():
        if not question.provisions:
            continue  # condition-only questions decide applicability, not conformance
        value = _lookup(declaration, question.path)
        evidence = {"source": source_name, "path": question.path}
        if value is None:
            outcome, detail = "not_tested", "not answered in the declaration"
        else:
            outcome, detail = _evaluate(question, value, today)
            evidence["excerpt"] = str(value)[:200]
        findings.append(
            Finding(
                check=f"declaration.{question.id}",
                outcome=outcome,
                severity=question.severity if outcome == "fail" else "info",
                title=question.text,
                detail=detail,
                evidence=evidence,
                provisions=question.provisions,
                kind="declaration",
                assessment="conceptual",
            )
        )
    for pid, answer in sorted(declaration.provisions.items()):
        qualified = pid if ":" in pid else f"etsi-en-303-645:{pid}"
        evidence = {"source": source_name, "path": f"provisions.{pid}"}
        if not answer.applies and not (answer.justification or "").strip():
            findings.append(make_finding("declaration.ics.unjustified_exception", "fail",
                                         f"{pid} is declared not applicable without a justification",
                                         evidence=evidence, provisions=[qualified, "etsi-en-303-645:4-1"]))
        elif answer.applies and answer.implemented is False:
            findings.append(make_finding("declaration.ics.not_implemented", "fail",
                                         f"{pid} is declared not implemented" + (f": {answer.justification}" if answer.justification else ""),
                                         evidence=evidence, provisions=[qualified]))
        elif answer.applies and answer.implemented and (answer.how or "").strip():
            findings.append(make_finding("declaration.ics.implemented", "pass", answer.how.strip()[:500],
                                         evidence={**evidence, "excerpt": answer.how.strip()[:200]}, provisions=[qualified]))
    return findings


def collect_declaration(path: Path, today: dt.date | None = None) -> DeclarationResult:
    """Load, validate and evaluate a declaration file."""
    path = Path(path)
    declaration = load_declaration(path)
    raw = read_bytes(path)
    source = EvidenceSource(kind="declaration", name=path.name, sha256=sha256_hex(raw),
                            collected_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0), tool="iotmark.declaration")
    return DeclarationResult(declaration, declaration_findings(declaration, path.name, today), source, conditions(declaration))


_JSON_TYPES: dict[str, dict[str, Any]] = {
    "bool": {"type": "boolean"},
    "string": {"type": "string"},
    "url": {"type": "string", "pattern": URL_RE.pattern},
    "email": {"type": "string", "pattern": EMAIL_RE.pattern},
    "int": {"type": "integer"},
    "date": {"type": "string", "format": "date"},
}


def json_schema() -> dict[str, Any]:
    """JSON Schema of a declaration file, with every questionnaire answer typed (for editors and other tools)."""
    schema = Declaration.model_json_schema(by_alias=True, mode="validation")
    sections: dict[str, dict[str, Any]] = {}
    for question in load_questions():
        head, _, rest = question.path.partition(".")
        prop = dict(_JSON_TYPES.get(question.type, {"type": "string", "enum": question.choices}))
        prop["description"] = question.text
        if rest:
            sections.setdefault(head, {})[rest] = {"anyOf": [prop, {"type": "null"}]}
        else:
            schema["properties"][head]["description"] = question.text
    for head, props in sections.items():
        schema["properties"][head] = {
            "type": "object",
            "properties": props,
            # answers are a closed set; the other sections may carry extra vendor notes
            "additionalProperties": head != "answers",
        }
    schema["title"] = "iotmark vendor declaration"
    return schema


def template(device_class: str, standard_provisions: list[tuple[str, str, str]]) -> str:
    """A blank declaration for a device class, every question commented with what it asks.

    `standard_provisions` is (id, status, title) for the conformance-statement table.
    """
    sections: dict[str, list[Question]] = {}
    for question in load_questions():
        sections.setdefault(question.path.split(".")[0], []).append(question)
    lines = [
        "# iotmark vendor declaration (implementation conformance statement).",
        "# Fill in every answer you can; an unanswered question is reported as not tested, never as passed.",
        "schema: iotmark-declaration/1",
        "target:",
        "  vendor: ''",
        "  model: ''",
        "  firmware_version: ''",
        f"  device_class: {device_class}",
        "  support_until: null          # YYYY-MM-DD, end of security updates",
    ]
    for section in ("support_period_end", "vulnerability_disclosure", "update_mechanism", "answers"):
        questions = sections.get(section, [])
        if section == "support_period_end":
            for q in questions:
                lines += [f"# {q.text}", "support_period_end: null"]
            continue
        lines.append(f"{section}:")
        for q in questions:
            hint = f"one of: {', '.join(q.choices)}" if q.type == "choice" else q.type
            lines.append(f"  # {q.text} [{hint}]")
            lines.append(f"  {q.path.split('.', 1)[1]}: null")
    lines.append("data_categories: []        # e.g. [account, audio, video, location, usage]")
    lines.append("# Conformance statement: one entry per provision. applies: false needs a justification;")
    lines.append("# implemented: false means you do not meet it. `how` says how you do (it is checked against tests).")
    lines.append("provisions:")
    for pid, status, title in standard_provisions:
        lines.append(f"  '{pid}': {{applies: true, implemented: null, how: null, justification: null}}  # {status}: {title}")
    return "\n".join(lines) + "\n"
