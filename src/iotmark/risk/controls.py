"""Controls: changes to scenario inputs that cost money, and whether they pay for themselves.

A change names a node (`vulnerability`, `tef`, `primary_loss.response`, `secondary_loss.frequency`, ...) and
either replaces its distribution or multiplies it (`{multiply: 0.2}`). Return on security investment is
(risk reduction - cost) / cost, with the reduction taken as the fall in expected annual loss.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iotmark.risk.distributions import Distribution
from iotmark.risk.ontology import FORMS, Scenario

_ALIASES = {"lef": "loss_event_frequency", "tef": "threat_event_frequency", "lm": "loss_magnitude"}


class Multiply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    multiply: float = Field(ge=0)


class Control(BaseModel):
    """A security control: what it costs per year, which scenarios it touches and how it changes their inputs."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    cost: float = Field(ge=0, description="annual (or annualised) cost, in the scenarios' currency")
    applies_to: list[str] = Field(default_factory=list, description="scenario names, device classes or tags; empty = all")
    changes: dict[str, Multiply | Distribution] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_nodes(self) -> "Control":
        for node in self.changes:
            node_path(node)
        return self

    def applies(self, scenario: Scenario) -> bool:
        if not self.applies_to:
            return True
        keys = {scenario.name, scenario.device_class, scenario.vendor, *scenario.tags}
        return bool(keys & set(self.applies_to))


def node_path(node: str) -> list[str]:
    """The place of a node in a dumped scenario, e.g. `primary_loss.response` -> [primary_loss, forms, response]."""
    parts = node.split(".")
    parts[0] = _ALIASES.get(parts[0], parts[0])
    top = {"loss_event_frequency", "threat_event_frequency", "contact_frequency", "probability_of_action",
           "vulnerability", "threat_capability", "resistance_strength", "loss_magnitude"}
    if len(parts) == 1 and parts[0] in top:
        return parts
    if parts[0] == "primary_loss" and len(parts) <= 2:
        return ["primary_loss", "distribution"] if len(parts) == 1 else _form_path(["primary_loss"], parts[1], node)
    if parts[:2] == ["secondary_loss", "frequency"] and len(parts) == 2:
        return parts
    if parts[:2] == ["secondary_loss", "magnitude"] and len(parts) <= 3:
        base = ["secondary_loss", "magnitude"]
        return base + ["distribution"] if len(parts) == 2 else _form_path(base, parts[2], node)
    raise ValueError(f"unknown FAIR node {node!r}")


def _form_path(base: list[str], form: str, node: str) -> list[str]:
    if form not in FORMS:
        raise ValueError(f"unknown form of loss in {node!r}; expected one of {', '.join(FORMS)}")
    return [*base, "forms", form]


def apply_changes(scenario: Scenario, changes: dict[str, Any], who: str) -> Scenario:
    """A copy of `scenario` with the changes applied; a change to a node the scenario does not have is an error."""
    data = scenario.model_dump(exclude_none=True)
    for node, change in changes.items():
        path = node_path(node)
        parent = data
        for key in path[:-1]:
            parent = parent.get(key) or {}
        current = parent.get(path[-1])
        if current is None:
            raise ValueError(f"{who}: scenario {scenario.name!r} has no input {node!r} to change")
        if isinstance(change, Multiply):
            dist = _distribution_at(scenario, path)
            parent[path[-1]] = dist.scaled(change.multiply).model_dump(by_alias=True)
        else:
            parent[path[-1]] = change.model_dump(by_alias=True)
    return Scenario.model_validate(data)


def _distribution_at(scenario: Scenario, path: list[str]):
    node: Any = scenario
    for key in path:
        node = getattr(node, key)
    return node


def cost_benefit_row(name: str, cost: float, scenarios: list[str], before: float, after: float) -> dict[str, Any]:
    """Risk reduction, return on security investment and value per cost of one control or fix."""
    reduction = before - after
    return {"name": name, "cost": cost, "scenarios": scenarios, "mean_before": before, "mean_after": after,
            "risk_reduction": reduction, "rosi": (reduction - cost) / cost if cost else None,
            "value_per_cost": reduction / cost if cost else None}


def rank_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order cost-benefit rows best first and number them."""
    # Free measures that reduce risk come first; otherwise the highest reduction per unit of cost.
    rows.sort(key=lambda r: (r["value_per_cost"] is not None, -(r["value_per_cost"] or 0.0), -r["risk_reduction"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def rank_controls(controls: list[Control], scenarios: list[Scenario], iterations: int, seed: int,
                  baseline: dict[str, float]) -> list[dict[str, Any]]:
    """Risk reduction, ROSI and value per cost of each control, best first.

    `baseline` maps scenario name -> simulated mean annual loss; changed scenarios are simulated with the same
    seed and name, so the reduction is measured on common random numbers.
    """
    from iotmark.risk.simulate import simulate

    rows = []
    for control in controls:
        touched = [s for s in scenarios if control.applies(s)]
        before = sum(baseline[s.name] for s in touched)
        after = sum(simulate(apply_changes(s, control.changes, f"control {control.name!r}"), iterations, seed).mean
                    for s in touched)
        rows.append(cost_benefit_row(control.name, control.cost, [s.name for s in touched], before, after))
    return rank_rows(rows)
