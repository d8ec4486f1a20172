"""The registry facts document (`iotmark-registry-facts/1`): what the registry knows about one vendor.

The registry writes it (`iotmark registry vendor facts`); the programme reads it and never imports the registry.
Its JSON Schema is data/registry-facts.schema.json; the pydantic types below are the same contract.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotmark.inputs import InputError, describe_validation_error

FORMAT = "iotmark-registry-facts/1"
MAX_FACTS_BYTES = 64 * 1024 * 1024
SCHEMA_PATH = Path(__file__).parent / "data" / "registry-facts.schema.json"


class _Facts(BaseModel):
    # Unknown fields are tolerated so a newer registry can add facts without breaking older readers.
    model_config = ConfigDict(extra="ignore")


class FirmwareFact(_Facts):
    version: str
    support_until: dt.date | None = None


class OpenFindings(_Facts):
    critical: int = Field(default=0, ge=0)
    high: int = Field(default=0, ge=0)
    medium: int = Field(default=0, ge=0)
    low: int = Field(default=0, ge=0)


class CertificateFact(_Facts):
    id: str
    firmware_version: str
    level: int = Field(ge=0)
    meets_class: bool
    issued: dt.date
    expires: dt.date
    status: Literal["valid", "expired", "revoked"]
    failed_provisions: list[str] = Field(default_factory=list)
    open_findings: OpenFindings = Field(default_factory=OpenFindings)


class ProductFact(_Facts):
    model: str
    device_class: str
    required_level: int = Field(ge=0)
    firmware: list[FirmwareFact] = Field(default_factory=list)
    certificates: list[CertificateFact] = Field(default_factory=list)


class DeadlineFact(_Facts):
    report: Literal["early_warning", "notification", "final_report"]
    due: dt.datetime
    sent: dt.datetime | None = None
    on_time: bool | None = None


class VulnerabilityReportFact(_Facts):
    id: str
    product: str
    severity: Literal["critical", "high", "medium", "low"]
    actively_exploited: bool = False
    received: dt.datetime
    fixed: dt.datetime | None = None
    deadlines: list[DeadlineFact] = Field(default_factory=list)


class IncidentFact(_Facts):
    id: str
    product: str
    opened: dt.datetime
    third_party_loss_eur: float = Field(default=0.0, ge=0)


class CaseFact(_Facts):
    id: str
    product: str
    opened: dt.datetime
    status: Literal["open", "closed"]
    grounds: list[str] = Field(default_factory=list)
    outcome: str | None = None


class RegistryFacts(_Facts):
    format: Literal["iotmark-registry-facts/1"]
    vendor: str = Field(min_length=1)
    generated: dt.datetime
    products: list[ProductFact] = Field(default_factory=list)
    vulnerability_reports: list[VulnerabilityReportFact] = Field(default_factory=list)
    incidents: list[IncidentFact] = Field(default_factory=list)
    cases: list[CaseFact] = Field(default_factory=list)

    def product(self, model: str) -> ProductFact | None:
        return next((p for p in self.products if p.model == model), None)


@lru_cache(maxsize=1)
def facts_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def load_facts(path: Path) -> RegistryFacts:
    """Read a registry facts file: schema-checked, then typed; one-line `InputError` on anything wrong."""
    import jsonschema

    from iotmark.inputs import read_structured

    data = read_structured(Path(path), MAX_FACTS_BYTES)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    if data.get("format") != FORMAT:
        raise InputError(f"{path}: field format: expected {FORMAT!r} (got {data.get('format')!r})")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(facts_schema()).iter_errors(data))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        raise InputError(f"{path}: field {where}: {message}")
    try:
        return RegistryFacts.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(path, exc)) from None
