"""The FAIR ontology as a validated scenario: which factors were given, and how they combine.

Risk (annualised loss) = Loss Event Frequency x Loss Magnitude, where
- LEF is given, or Threat Event Frequency x Vulnerability;
- TEF is given, or Contact Frequency x Probability of Action;
- Vulnerability is given (a probability), or the chance that Threat Capability exceeds Resistance Strength;
- LM is given, or Primary Loss + Secondary Loss, where Secondary Loss = Secondary LEF (the share of loss events
  that draw a reaction from secondary stakeholders) x Secondary LM;
- a primary or secondary loss is given, or as the sum of the six FAIR forms of loss.
Any node may be given directly; then its factors must not be given too (a scenario is a minimal input set).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iotmark.risk.distributions import KINDS, Distribution

FORMS = ("productivity", "response", "replacement", "fines_judgments", "competitive_advantage", "reputation")

# Factors that are probabilities (or FAIR's 0..1 capability/strength percentiles): draws are clipped to [0, 1].
PROBABILITY_NODES = frozenset({"vulnerability", "probability_of_action", "threat_capability", "resistance_strength",
                               "secondary_loss.frequency"})


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LossForms(_Node):
    """The six FAIR forms of loss per event; absent forms count as zero."""

    productivity: Distribution | None = None
    response: Distribution | None = None
    replacement: Distribution | None = None
    fines_judgments: Distribution | None = None
    competitive_advantage: Distribution | None = None
    reputation: Distribution | None = None

    @model_validator(mode="after")
    def _some(self) -> "LossForms":
        if not self.given():
            raise ValueError(f"expected at least one form of loss: {', '.join(FORMS)}")
        return self

    def given(self) -> dict[str, Any]:
        return {form: getattr(self, form) for form in FORMS if getattr(self, form) is not None}


def _magnitude(value: Any) -> Any:
    """A loss is a distribution or a mapping of forms; route the mapping to `forms` so errors name the right keys."""
    if isinstance(value, dict) and value and set(value) <= {"distribution", "forms"}:
        return value  # already in the validated shape (a dumped scenario read back)
    if isinstance(value, dict) and value and not (set(value) & {*KINDS, "kind"}):
        return {"forms": value}
    return {"distribution": value}


class Loss(_Node):
    distribution: Distribution | None = None
    forms: LossForms | None = None


class SecondaryLoss(_Node):
    """Secondary loss: how often secondary stakeholders react (per loss event) and what it costs when they do."""

    frequency: Distribution
    magnitude: Loss

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and "magnitude" in data:
            data = {**data, "magnitude": _magnitude(data["magnitude"])}
        return data


class Scenario(_Node):
    """One loss scenario (an asset, a threat community, an effect) with the FAIR factors the analyst could estimate."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    device_class: str | None = None
    vendor: str | None = None
    tags: list[str] = Field(default_factory=list)
    # "rate": annual loss = LEF x LM (expected loss per year of each iteration's rate);
    # "poisson": the number of loss events in a year is Poisson(LEF) and each event gets its own magnitude.
    events: Literal["rate", "poisson"] = "rate"
    loss_event_frequency: Distribution | None = Field(default=None, alias="lef")
    threat_event_frequency: Distribution | None = Field(default=None, alias="tef")
    contact_frequency: Distribution | None = None
    probability_of_action: Distribution | None = None
    vulnerability: Distribution | None = None
    threat_capability: Distribution | None = None
    resistance_strength: Distribution | None = None
    loss_magnitude: Distribution | None = Field(default=None, alias="lm")
    primary_loss: Loss | None = None
    secondary_loss: SecondaryLoss | None = None

    @model_validator(mode="before")
    @classmethod
    def _wrap_primary(cls, data: Any) -> Any:
        if isinstance(data, dict) and "primary_loss" in data:
            data = {**data, "primary_loss": _magnitude(data["primary_loss"])}
        return data

    @model_validator(mode="after")
    def _minimal_input_set(self) -> "Scenario":
        _one_of("loss_event_frequency (lef)", self.loss_event_frequency,
                "its factors", [self.threat_event_frequency, self.contact_frequency, self.probability_of_action,
                                self.vulnerability, self.threat_capability, self.resistance_strength])
        if self.loss_event_frequency is None:
            _one_of("threat_event_frequency (tef)", self.threat_event_frequency,
                    "contact_frequency and probability_of_action", [self.contact_frequency, self.probability_of_action],
                    all_needed=True)
            _one_of("vulnerability", self.vulnerability,
                    "threat_capability and resistance_strength", [self.threat_capability, self.resistance_strength],
                    all_needed=True)
        _one_of("loss_magnitude (lm)", self.loss_magnitude, "primary_loss", [self.primary_loss])
        if self.loss_magnitude is not None and self.secondary_loss is not None:
            raise ValueError("secondary_loss is part of loss_magnitude: give primary_loss and secondary_loss instead")
        for loss in (self.primary_loss, self.secondary_loss.magnitude if self.secondary_loss else None):
            if loss is not None and (loss.distribution is None) == (loss.forms is None):
                raise ValueError("a loss is either one distribution or a mapping of forms of loss")
        return self

    def frequency_nodes(self) -> dict[str, Any]:
        """The frequency-side inputs that were given, by node name."""
        names = ("loss_event_frequency", "threat_event_frequency", "contact_frequency", "probability_of_action",
                 "vulnerability", "threat_capability", "resistance_strength")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def _one_of(node: str, given: Any, factors: str, parts: list[Any], all_needed: bool = False) -> None:
    present = [p for p in parts if p is not None]
    if given is not None and present:
        raise ValueError(f"give {node} or {factors}, not both")
    if given is None and not present:
        raise ValueError(f"missing {node} (or {factors})")
    if given is None and all_needed and len(present) != len(parts):
        raise ValueError(f"{factors} must be given together (or {node} directly)")
