"""FAIR estimate of the loss an incident's compromised devices caused to third parties, with iotmark.risk.

The incident is one loss event that has happened (LEF = 1); each component of the loss model in
data/third-party-loss.yaml is a loss magnitude per device, scaled by the number of affected devices, and the
components are simulated together as a portfolio. The result keeps every input and assumption next to the figures.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

DATA = Path(__file__).parent / "data" / "third-party-loss.yaml"
MAX_DEVICES = 100_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LossComponent(_Strict):
    id: str
    title: str
    form: str
    per_device: dict[str, Any]
    basis: str
    source: str | None = None
    verified: bool
    verified_note: str | None = None


class LossModel(_Strict):
    title: str
    components: list[LossComponent] = Field(min_length=1)


class LossModels(_Strict):
    currency: str
    iterations: int = Field(gt=0)
    seed: int = Field(ge=0)
    correlation: float = Field(ge=-1, le=1)
    default_model: str
    playbooks: dict[str, str]
    models: dict[str, LossModel]


@lru_cache(maxsize=1)
def loss_models() -> LossModels:
    """The loss models of data/third-party-loss.yaml."""
    return LossModels.model_validate(yaml.safe_load(DATA.read_text(encoding="utf-8")))


def model_for_playbook(playbook: str) -> tuple[str, LossModel]:
    """The loss model an incident of this playbook is priced with (the default one for unknown playbooks)."""
    models = loss_models()
    name = models.playbooks.get(playbook, models.default_model)
    return name, models.models[name]


def estimate(playbook: str, devices: int) -> dict[str, Any]:
    """Mean and 90th percentile of the third-party loss of `devices` compromised devices, with the inputs."""
    from iotmark.risk.ontology import Scenario
    from iotmark.risk.outputs import summarise
    from iotmark.risk.portfolio import run_portfolio

    if not 1 <= devices <= MAX_DEVICES:
        raise ValueError(f"the number of affected devices must be between 1 and {MAX_DEVICES}")
    settings = loss_models()
    name, model = model_for_playbook(playbook)
    scenarios = []
    for part in model.components:
        per_device = Scenario.model_validate({"name": part.id, "lef": 1, "lm": part.per_device}).loss_magnitude
        scenarios.append(Scenario.model_validate({
            "name": part.id, "description": part.title, "lef": {"constant": 1},
            "lm": per_device.scaled(devices).model_dump(by_alias=True)}))  # type: ignore[union-attr]
    summary = run_portfolio(scenarios, settings.iterations, settings.seed, settings.correlation, threads=1)
    total = summarise(summary.total)
    components = []
    for part, hist in zip(model.components, summary.scenarios):
        result = summarise(hist)
        components.append({**part.model_dump(), "mean": result["mean"], "p90": result["percentiles"]["p90"]})
    return {
        "method": "FAIR (iotmark.risk): one loss event, loss magnitude per device x affected devices",
        "model": name, "model_title": model.title, "devices": devices, "currency": settings.currency,
        "iterations": settings.iterations, "seed": settings.seed, "correlation": settings.correlation,
        "mean": total["mean"], "p90": total["percentiles"]["p90"], "components": components,
        "assumptions": "Every range is an assumption unless marked verified; see each component's basis.",
    }
