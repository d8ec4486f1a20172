"""Scenario files (YAML or JSON): scenarios, portfolio settings and controls, validated with one-line errors.

```yaml
iterations: 1000000      # optional; the command line wins
seed: 42                 # optional root seed
currency: EUR
portfolio: {correlation: 0.3, var_level: 0.95}
scenarios:
  - name: standard
    tef: {pert: [0.5, 1, 5]}
    vulnerability: {pert: [0.2, 0.4, 0.7]}
    lm: {pert: [10000, 50000, 500000]}
controls:
  - {name: no-default-passwords, cost: 20000, changes: {vulnerability: {multiply: 0.2}}}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from iotmark.inputs import InputError, read_structured
from iotmark.risk.controls import Control, apply_changes
from iotmark.risk.ontology import Scenario

MAX_SCENARIOS = 100_000
MAX_ITERATIONS = 10_000_000_000


class PortfolioSettings(BaseModel):
    """How scenarios combine: rank correlation between their annual losses, and the VaR level to report."""

    model_config = ConfigDict(extra="forbid")

    correlation: float | list[list[float]] = Field(default=0.0, description="one pairwise value, or a full matrix")
    var_level: float = Field(default=0.95, gt=0, lt=1)

    @field_validator("correlation")
    @classmethod
    def _range(cls, value: float | list[list[float]]) -> float | list[list[float]]:
        values = [value] if isinstance(value, (int, float)) else [x for row in value for x in row]
        if any(not -1 <= x <= 1 for x in values):
            raise ValueError("correlations lie between -1 and 1")
        return value


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_: str = Field(default="iotmark-risk/1", alias="schema")
    iterations: int | None = Field(default=None, gt=0, le=MAX_ITERATIONS)
    seed: int | None = Field(default=None, ge=0)
    currency: str = Field(default="EUR", max_length=10)
    portfolio: PortfolioSettings = Field(default_factory=PortfolioSettings)
    scenarios: list[Scenario] = Field(min_length=1, max_length=MAX_SCENARIOS)
    controls: list[Control] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "ScenarioFile":
        names = [s.name for s in self.scenarios]
        duplicates = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) != len(names) else []
        if duplicates:
            raise ValueError(f"scenarios: names must be unique (they seed the random streams): {duplicates[0]!r} repeats")
        matrix = self.portfolio.correlation
        if isinstance(matrix, list) and (len(matrix) != len(names) or any(len(row) != len(names) for row in matrix)):
            raise ValueError(f"portfolio.correlation: expected a {len(names)}x{len(names)} matrix, one row per scenario")
        for i, control in enumerate(self.controls):  # a change to an input a scenario lacks is caught here
            for scenario in self.scenarios:
                if control.applies(scenario):
                    apply_changes(scenario, control.changes, f"controls.{i} ({control.name})")
        return self


def describe_error(path: Path | str, exc: ValidationError) -> str:
    """First validation error as `FILE: a.b: what was expected`, in one line."""
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err.get("loc", ()) if not str(part).startswith("function-"))
    message = err["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    # Model-level checks name their own field at the start of the message.
    return f"{path}: {loc}: {message}{more}" if loc else f"{path}: {message}{more}"


def parse_scenario_file(data: Any, path: Path | str) -> ScenarioFile:
    """Validate already-parsed data; a bare list is read as a list of scenarios."""
    if isinstance(data, list):
        data = {"scenarios": data}
    if not isinstance(data, dict):
        raise InputError(f"{path}: (top level): expected a mapping with `scenarios`, got {type(data).__name__}")
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_error(path, exc)) from None


def load_scenario_file(path: Path) -> ScenarioFile:
    """Read and validate a scenario file (size and depth limited by `iotmark.inputs`)."""
    return parse_scenario_file(read_structured(Path(path)), path)
