"""Design-time threat models: a device's data flows (YAML) → STRIDE threats from the IoT threat library
(data/iot-threats.yaml) → catalog provisions, FAIR scenarios and `design.threat.*` findings.

A library threat names the subject it applies to (an element or a flow), the facts that make it relevant
(`when`) and the facts that defeat it (`mitigated_when`). A threat that applies and is neither defeated by the
model's facts nor listed under the model's `mitigations` is unmitigated: it becomes a failing finding and a
FAIR scenario, with the library's fix as a control so `iotmark risk run` ranks it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from iotmark.inputs import InputError, describe_validation_error, read_structured
from iotmark.model import Finding, Severity

DATA = Path(__file__).parent / "data"
MODEL_SCHEMA = DATA / "threat-model.schema.json"
LIBRARY = DATA / "iot-threats.yaml"
MAX_MODEL_BYTES = 2 * 1024 * 1024
DESIGN_CONFIDENCE = 0.7  # a design-time threat is a reasoned expectation, not an observed fact

ElementKind = Literal["device", "cloud-service", "mobile-app", "web-app", "local-peer", "update-server", "user",
                      "third-party"]
DataKind = Literal["credentials", "personal", "sensitive-personal", "telemetry", "firmware", "configuration",
                   "commands"]
Stride = Literal["S", "T", "R", "I", "D", "E"]
STRIDE_NAMES = {"S": "Spoofing", "T": "Tampering", "R": "Repudiation", "I": "Information disclosure",
                "D": "Denial of service", "E": "Elevation of privilege"}
_ID = r"^[a-z0-9][a-z0-9_\-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DataClass(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    kind: DataKind


class Element(_Strict):
    """A part of the system: the device itself, its cloud, the app, peers on the local network..."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    kind: ElementKind
    stores: list[str] = Field(default_factory=list, max_length=100)
    physically_accessible: bool = False
    debug_interface: bool = False
    secure_boot: bool = False
    encrypted_storage: bool = False
    unique_credentials: bool = False
    login_rate_limited: bool = False
    logs_security_events: bool = False
    least_privilege: bool = False
    validates_input: bool = False


class Flow(_Strict):
    """Data moving from one element to another over one protocol."""

    id: str = Field(pattern=_ID)
    source: str = Field(alias="from")
    destination: str = Field(alias="to")
    protocol: str = Field(min_length=1, max_length=40)
    port: int | None = Field(default=None, ge=0, le=65535)
    authenticated: bool
    encrypted: bool
    integrity_protected: bool | None = None  # defaults to `encrypted`: an authenticated channel protects both
    signed_payload: bool = False
    data: list[str] = Field(default_factory=list, max_length=100)


class Boundary(_Strict):
    """A trust boundary: the elements inside it trust each other more than anything outside."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    contains: list[str] = Field(min_length=1, max_length=200)


class Mitigation(_Strict):
    """A mitigation the design claims for one library threat, on one element/flow or (no target) everywhere."""

    threat: str
    target: str | None = None
    how: str = Field(min_length=1, max_length=2000)


class Fleet(_Strict):
    units: int = Field(gt=0, le=10**10)
    price: float = Field(ge=0, le=10**7)


class DeviceRef(_Strict):
    vendor: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=200)
    device_class: str = Field(min_length=1, max_length=100)


class ThreatModel(_Strict):
    schema_: Literal["iotmark-threat-model/1"] = Field(default="iotmark-threat-model/1", alias="schema")
    device: DeviceRef
    fleet: Fleet | None = None
    data_classes: list[DataClass] = Field(default_factory=list, max_length=200)
    elements: list[Element] = Field(min_length=1, max_length=500)
    flows: list[Flow] = Field(default_factory=list, max_length=2000)
    boundaries: list[Boundary] = Field(default_factory=list, max_length=100)
    mitigations: list[Mitigation] = Field(default_factory=list, max_length=2000)

    @model_validator(mode="after")
    def _references(self) -> "ThreatModel":
        ids = [x.id for group in (self.data_classes, self.elements, self.flows, self.boundaries) for x in group]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"ids must be unique across data_classes, elements, flows and boundaries: "
                             f"{repeated[0]!r} repeats")
        elements = {e.id for e in self.elements}
        data = {d.id for d in self.data_classes}
        for element in self.elements:
            _known(f"elements.{element.id}.stores", element.stores, data, "data class")
        for flow in self.flows:
            _known(f"flows.{flow.id}.from", [flow.source], elements, "element")
            _known(f"flows.{flow.id}.to", [flow.destination], elements, "element")
            _known(f"flows.{flow.id}.data", flow.data, data, "data class")
        for boundary in self.boundaries:
            _known(f"boundaries.{boundary.id}.contains", boundary.contains, elements, "element")
        targets = elements | {f.id for f in self.flows}
        for i, mitigation in enumerate(self.mitigations):
            if mitigation.target is not None:
                _known(f"mitigations.{i}.target", [mitigation.target], targets, "element or flow")
        return self


def _known(where: str, used: list[str], known: set[str], what: str) -> None:
    for name in used:
        if name not in known:
            raise ValueError(f"{where}: unknown {what} {name!r}")


# --- the threat library ---------------------------------------------------------------------------------------

Condition = dict[str, bool | str | int | list[str] | list[int]]
ELEMENT_FACTS = frozenset({"kind", "stores", "exposed", *(n for n, f in Element.model_fields.items()
                                                          if f.annotation is bool)})
FLOW_FACTS = frozenset({"protocol", "port", "authenticated", "encrypted", "integrity_protected", "signed_payload",
                        "carries", "crosses_boundary", "source_kind", "destination_kind"})


class Fix(_Strict):
    title: str
    cost: float = Field(ge=0)
    changes: dict[str, Any] = Field(min_length=1)


class Threat(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{1,60}$")
    stride: Stride
    title: str
    description: str
    applies_to: Literal["element", "flow"]
    when: Condition = Field(default_factory=dict)
    mitigated_when: Condition = Field(default_factory=dict)
    severity: Severity
    provisions: list[str] = Field(min_length=1)
    risk_scenario: str  # the risk library scenario (risk/data/scenarios.yaml) this threat feeds
    scenario: dict[str, Any]
    fix: Fix

    @model_validator(mode="after")
    def _facts(self) -> "Threat":
        facts = ELEMENT_FACTS if self.applies_to == "element" else FLOW_FACTS
        for key in [*self.when, *self.mitigated_when]:
            if key not in facts:
                raise ValueError(f"threat {self.id}: unknown {self.applies_to} fact {key!r}")
        return self


class ThreatLibrary(_Strict):
    standard: str
    threats: list[Threat] = Field(min_length=1)


@lru_cache(maxsize=1)
def threat_library() -> ThreatLibrary:
    """The IoT threat library (data/iot-threats.yaml)."""
    try:
        return ThreatLibrary.model_validate(read_structured(LIBRARY))
    except ValidationError as exc:  # a packaging mistake, not user input; still one line
        raise InputError(describe_validation_error(LIBRARY.name, exc)) from None


# --- loading a model ------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def model_schema() -> dict[str, Any]:
    return json.loads(MODEL_SCHEMA.read_text(encoding="utf-8"))


def _schema_error(path: Path, data: Any) -> str | None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(model_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"{path}: field {where}: {message}"


def load_threat_model(path: Path) -> ThreatModel:
    """Read a threat model (YAML/JSON), check it against the JSON Schema and the pydantic model; one-line errors."""
    data = read_structured(Path(path), MAX_MODEL_BYTES)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping with device, elements and flows, got {type(data).__name__}")
    problem = _schema_error(path, data)
    if problem:
        raise InputError(problem)
    try:
        model = ThreatModel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "value_error":  # cross-reference checks name their own field
            raise InputError(f"{path}: {err['msg'].removeprefix('Value error, ')}") from None
        raise InputError(describe_validation_error(path, exc)) from None
    known = {t.id for t in threat_library().threats}
    for i, mitigation in enumerate(model.mitigations):
        if mitigation.threat not in known:
            raise InputError(f"{path}: mitigations.{i}.threat: unknown threat {mitigation.threat!r} "
                             f"(the threat library is programme/data/iot-threats.yaml)")
    return model


# --- analysis -------------------------------------------------------------------------------------------------

class ThreatInstance(BaseModel):
    """One library threat on one element or flow of the model."""

    threat: str
    stride: Stride
    title: str
    severity: Severity
    subject: Literal["element", "flow"]
    target: str
    target_name: str
    provisions: list[str]
    mitigated: bool
    mitigated_by: str | None = None
    risk_scenario: str


class ThreatAnalysis(BaseModel):
    model: str
    device: DeviceRef
    threats: list[ThreatInstance]

    @property
    def unmitigated(self) -> list[ThreatInstance]:
        return [t for t in self.threats if not t.mitigated]

    def by_stride(self) -> dict[str, dict[str, int]]:
        out = {letter: {"total": 0, "unmitigated": 0} for letter in STRIDE_NAMES}
        for t in self.threats:
            out[t.stride]["total"] += 1
            out[t.stride]["unmitigated"] += not t.mitigated
        return out


def _boundary_of(model: ThreatModel) -> dict[str, str | None]:
    inside = {e.id: None for e in model.elements}
    for boundary in model.boundaries:
        for element in boundary.contains:
            inside[element] = boundary.id
    return inside


def _flow_facts(model: ThreatModel, flow: Flow, boundary: dict[str, str | None]) -> dict[str, Any]:
    kinds = {d.id: d.kind for d in model.data_classes}
    elements = {e.id: e for e in model.elements}
    return {
        "protocol": flow.protocol.lower(), "port": flow.port, "authenticated": flow.authenticated,
        "encrypted": flow.encrypted, "signed_payload": flow.signed_payload,
        "integrity_protected": flow.encrypted if flow.integrity_protected is None else flow.integrity_protected,
        "carries": {kinds[d] for d in flow.data},
        "crosses_boundary": boundary[flow.source] != boundary[flow.destination],
        "source_kind": elements[flow.source].kind, "destination_kind": elements[flow.destination].kind,
    }


def _element_facts(model: ThreatModel, element: Element, boundary: dict[str, str | None]) -> dict[str, Any]:
    kinds = {d.id: d.kind for d in model.data_classes}
    exposed = any(f.destination == element.id and boundary[f.source] != boundary[f.destination] for f in model.flows)
    facts = element.model_dump(exclude={"id", "name", "stores"})
    return {**facts, "stores": {kinds[d] for d in element.stores}, "exposed": exposed}


def holds(condition: dict[str, Any], facts: dict[str, Any]) -> bool:
    """All keys hold. A list matches a set fact on any shared item and a scalar fact on membership."""
    for key, wanted in condition.items():
        have = facts.get(key)
        if isinstance(have, set):
            ok = bool(have & set(wanted if isinstance(wanted, list) else [wanted]))
        elif isinstance(wanted, list):
            ok = have in wanted
        else:
            ok = have == wanted
        if not ok:
            return False
    return True


def analyse(model: ThreatModel, name: str = "threat-model") -> ThreatAnalysis:
    """Every library threat that applies to the model, mitigated or not."""
    boundary = _boundary_of(model)
    subjects: list[tuple[str, str, str, dict[str, Any]]] = [
        ("element", e.id, e.name, _element_facts(model, e, boundary)) for e in model.elements]
    elements = {e.id: e.name for e in model.elements}
    subjects += [("flow", f.id, f"{elements[f.source]} → {elements[f.destination]} ({f.protocol})",
                  _flow_facts(model, f, boundary)) for f in model.flows]
    claimed = {(m.threat, m.target): m.how for m in model.mitigations}
    found = []
    for threat in threat_library().threats:
        for kind, target, target_name, facts in subjects:
            if kind != threat.applies_to or not holds(threat.when, facts):
                continue
            by_design = bool(threat.mitigated_when) and holds(threat.mitigated_when, facts)
            how = claimed.get((threat.id, target)) or claimed.get((threat.id, None))
            mitigated_by = "the model's properties" if by_design else how
            found.append(ThreatInstance(
                threat=threat.id, stride=threat.stride, title=threat.title, severity=threat.severity,
                subject=kind, target=target, target_name=target_name, provisions=threat.provisions,
                mitigated=mitigated_by is not None, mitigated_by=mitigated_by, risk_scenario=threat.risk_scenario))
    return ThreatAnalysis(model=name, device=model.device, threats=found)


def _line_of(text: str, ident: str) -> int | None:
    pattern = re.compile(rf"\bid:\s*[\"']?{re.escape(ident)}[\"']?\s*(,|}}|$)")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.search(line):
            return number
    return None


def threat_findings(analysis: ThreatAnalysis, model_text: str = "") -> list[Finding]:
    """`design.threat.<id>` findings: fail for unmitigated threats, pass (conceptual) for mitigated ones."""
    library = threat_library()
    standard = library.standard
    out = []
    for t in analysis.threats:
        line = _line_of(model_text, t.target)
        detail = (f"{STRIDE_NAMES[t.stride]} threat on {t.subject} {t.target_name}: "
                  + (f"mitigated by {t.mitigated_by}" if t.mitigated else "no mitigation in the design"))
        out.append(Finding(
            check=f"design.threat.{t.threat}", outcome="pass" if t.mitigated else "fail",
            severity=t.severity if not t.mitigated else "info", title=t.title, detail=detail,
            evidence={"path": analysis.model if line else f"{analysis.model}#{t.target}", "line": line,
                      "source": analysis.model, "excerpt": f"{t.subject} {t.target}"},
            provisions=[f"{standard}:{p}" for p in t.provisions], confidence=DESIGN_CONFIDENCE,
            kind="manual", assessment="conceptual"))
    return out


def risk_scenarios(analysis: ThreatAnalysis, fleet: Fleet, currency: str = "EUR", seed: int = 1) -> dict[str, Any]:
    """A scenario file for `iotmark risk run`: one FAIR scenario per unmitigated threat, its fix as a control."""
    from iotmark.risk import library as risk_library

    threats = {t.id: t for t in threat_library().threats}
    scales = risk_library.Fleet(units=fleet.units, price=fleet.price)
    scenarios, controls = [], []
    for t in analysis.unmitigated:
        rule = threats[t.threat]
        name = f"{t.threat}@{t.target}"
        template = {"id": name, **rule.scenario,
                    "description": f"{rule.title} ({t.subject} {t.target_name}). {rule.description}"}
        scenario = risk_library.instantiate(template, scales, analysis.device.device_class, analysis.device.vendor)
        scenario = scenario.model_copy(update={"tags": [t.threat, f"stride-{t.stride}", t.risk_scenario]})
        scenarios.append(scenario.model_dump(mode="json", by_alias=True, exclude_none=True))
        controls.append({"name": f"{rule.fix.title} ({t.target})", "cost": rule.fix.cost, "applies_to": [name],
                         "changes": rule.fix.changes})
    return {"schema": "iotmark-risk/1", "seed": seed, "currency": currency, "scenarios": scenarios,
            "controls": controls}


def library_provisions() -> set[str]:
    """Every provision id the library maps to (for the catalog consistency check)."""
    return {p for t in threat_library().threats for p in t.provisions}
