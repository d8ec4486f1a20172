"""The IoT scenario library, controls library and legal facts (data/*.yaml), turned into concrete scenarios.

Library distributions may be expressed in multiples of a fleet quantity (`scale: units`, `fleet_value`, a fine
cap id, ...); `instantiate` multiplies them out for a given fleet so every scenario is a plain FAIR scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from iotmark.inputs import read_structured
from iotmark.risk.controls import Control
from iotmark.risk.distributions import Distribution
from iotmark.risk.ontology import Scenario

DATA = Path(__file__).parent / "data"
_DIST = TypeAdapter(Distribution)


@lru_cache(maxsize=None)
def _data(name: str) -> dict[str, Any]:
    return read_structured(DATA / name)


def fine_caps() -> list[dict[str, Any]]:
    """Legal maximum fines with their sources (facts.yaml)."""
    return list(_data("facts.yaml")["fine_caps"])


def templates() -> list[dict[str, Any]]:
    """The library's scenario templates (scenarios.yaml)."""
    return list(_data("scenarios.yaml")["scenarios"])


def controls_library() -> list[Control]:
    """Controls a maker can buy (controls.yaml)."""
    return [Control.model_validate(c) for c in _data("controls.yaml")["controls"]]


def findings_map() -> dict[str, Any]:
    """Weaknesses and strengths that assessment results reveal, and their effects (findings.yaml)."""
    return _data("findings.yaml")


@dataclass(frozen=True)
class Fleet:
    """The quantities library scenarios scale with."""

    units: int
    price: float
    turnover: float | None = None

    def scales(self) -> dict[str, float]:
        fleet_value = self.units * self.price
        turnover = self.turnover if self.turnover is not None else fleet_value
        out = {"units": float(self.units), "price": self.price, "fleet_value": fleet_value, "turnover": turnover}
        for cap in fine_caps():
            # Article 64 CRA / Article 83 GDPR: the fixed amount or the turnover share, whichever is higher.
            out[cap["id"]] = max(float(cap["fixed"]), float(cap["share"]) * turnover)
        return out


def _resolve_scales(node: Any, scales: dict[str, float], where: str) -> Any:
    if isinstance(node, list):
        return [_resolve_scales(v, scales, where) for v in node]
    if not isinstance(node, dict):
        return node
    if "scale" in node:
        name = node["scale"]
        if name not in scales:
            raise ValueError(f"{where}: unknown scale {name!r}; expected one of {', '.join(sorted(scales))}")
        dist = _DIST.validate_python({k: v for k, v in node.items() if k != "scale"})
        return dist.scaled(scales[name]).model_dump(by_alias=True)
    return {k: _resolve_scales(v, scales, f"{where}.{k}") for k, v in node.items()}


def applies_to_class(template: dict[str, Any], device_class: str) -> bool:
    classes = template.get("classes") or ["*"]
    return "*" in classes or device_class in classes


def instantiate(template: dict[str, Any], fleet: Fleet, device_class: str | None = None,
                vendor: str | None = None) -> Scenario:
    """A concrete scenario from a library template for one device model's fleet; named by the template id."""
    body = {k: v for k, v in template.items() if k not in {"id", "title", "classes"}}
    body = _resolve_scales(body, fleet.scales(), f"scenarios.yaml: {template['id']}")
    return Scenario.model_validate({**body, "name": template["id"], "device_class": device_class, "vendor": vendor,
                                    "tags": [template["id"]]})


def scenarios_for(device_class: str, fleet: Fleet, vendor: str | None = None) -> list[Scenario]:
    """The library scenarios that apply to a device class, priced for a fleet."""
    return [instantiate(t, fleet, device_class, vendor) for t in templates() if applies_to_class(t, device_class)]
