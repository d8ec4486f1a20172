"""Input distributions for FAIR factors: PERT, triangular, uniform, normal, lognormal, constant, empirical.

In files a distribution is a one-key mapping, e.g. `{pert: {low: 0.5, mode: 1, high: 5}}`, `{pert: [0.5, 1, 5]}`,
`{lognormal: {low: 1e4, high: 1e6, confidence: 0.9}}`, `{empirical: [3, 5, 8]}`, or a bare number (a constant).
Every family here is closed under scaling, so a control or a finding can multiply a factor without changing
its family (`scaled`).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np

MAX_EMPIRICAL = 1_000_000

# Positional list forms, e.g. `{pert: [low, mode, high]}`.
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "pert": ("low", "mode", "high"),
    "triangular": ("low", "mode", "high"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
}


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def mean(self) -> float:  # pragma: no cover - every family overrides
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take (infinite where unbounded)."""
        return (-math.inf, math.inf)


def _check_ordered(low: float, mode: float, high: float) -> None:
    if not low <= mode <= high:
        raise ValueError(f"expected low <= mode <= high, got {low}, {mode}, {high}")
    if not low < high:
        raise ValueError(f"expected low < high, got {low} and {high}; use a constant for a fixed value")


class Pert(_Dist):
    """Beta-PERT: a smoothed three-point estimate; `gamma` (default 4) weights the mode, i.e. the confidence in it."""

    kind: Literal["pert"] = "pert"
    low: float
    mode: float
    high: float
    gamma: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Pert":
        _check_ordered(self.low, self.mode, self.high)
        return self

    def shape(self) -> tuple[float, float]:
        """The Beta(alpha, beta) shape parameters on [low, high]."""
        span = self.high - self.low
        return (1 + self.gamma * (self.mode - self.low) / span, 1 + self.gamma * (self.high - self.mode) / span)

    def draw(self, rng: "np.random.Generator", n: int) -> "np.ndarray":
        alpha, beta = self.shape()
        out = rng.beta(alpha, beta, n)
        out *= self.high - self.low
        out += self.low
        return out

    def mean(self) -> float:
        return (self.low + self.gamma * self.mode + self.high) / (self.gamma + 2)

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)

    def scaled(self, k: float) -> "Pert":
        return Pert(low=self.low * k, mode=self.mode * k, high=self.high * k, gamma=self.gamma)


class Triangular(_Dist):
    kind: Literal["triangular"] = "triangular"
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "Triangular":
        _check_ordered(self.low, self.mode, self.high)
        return self

    def draw(self, rng: "np.random.Generator", n: int) -> "np.ndarray":
        return rng.triangular(self.low, self.mode, self.high, n)

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)

    def scaled(self, k: float) -> "Triangular":
        return Triangular(low=self.low * k, mode=self.mode * k, high=self.high * k)


class Uniform(_Dist):
    kind: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if not self.low < self.high:
            raise ValueError(f"expected low < high, got {self.low} and {self.high}")
        return self

    def draw(self, rng: "np.random.Generator", n: int) -> "np.ndarray":
        return rng.uniform(self.low, self.high, n)

    def mean(self) -> float:
        return (self.low + self.high) / 2

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)

    def scaled(self, k: float) -> "Uniform":
        return Uniform(low=self.low * k, high=self.high * k)


class Normal(_Dist):
    """Normal; FAIR factors cannot be negative, so the simulation clips draws at zero (the mean here is unclipped)."""

    kind: Literal["normal"] = "normal"
    mean_: float = Field(alias="mean")
    sd: float = Field(ge=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def draw(self, rng: "np.random.Generator", n: int) -> "np.ndarray":
        return rng.normal(self.mean_, self.sd, n)

    def mean(self) -> float:
        return self.mean_

    def scaled(self, k: float) -> "Normal":
        return Normal(mean=self.mean_ * k, sd=self.sd * abs(k))


class Lognormal(_Dist):
    """Lognormal given by its own mean and sd, or by a confidence interval (`low`, `high`, `confidence`, 0.9 = 90%)."""

    kind: Literal["lognormal"] = "lognormal"
    mean_: float | None = Field(default=None, alias="mean", gt=0)
    sd: float | None = Field(default=None, gt=0)
    low: float | None = Field(default=None, gt=0)
    high: float | None = Field(default=None, gt=0)
    confidence: float = Field(default=0.9, gt=0, lt=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> "Lognormal":
        by_moments = self.mean_ is not None and self.sd is not None
        by_interval = self.low is not None and self.high is not None
        if by_moments == by_interval:
            raise ValueError("expected either mean and sd, or low and high (with an optional confidence)")
        if by_interval and not self.low < self.high:  # type: ignore[operator]
            raise ValueError(f"expected low < high, got {self.low} and {self.high}")
        return self

    def log_params(self) -> tuple[float, float]:
        """(mu, sigma) of the underlying normal."""
        if self.mean_ is not None and self.sd is not None:
            sigma2 = math.log1p((self.sd / self.mean_) ** 2)
            return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)
        z = NormalDist().inv_cdf((1 + self.confidence) / 2)
        lo, hi = math.log(self.low), math.log(self.high)  # type: ignore[arg-type]
        return (lo + hi) / 2, (hi - lo) / (2 * z)

    def draw(self, rng: "np.random.Generator", n: int) -> "np.ndarray":
        mu, sigma = self.log_params()
        return rng.lognormal(mu, sigma, n)

    def mean(self) -> float:
        mu, sigma = self.log_params()
        return math.exp(mu + sigma * sigma / 2)

    def bounds(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def scaled(self, k: float) -> "Lognormal":
        if self.mean_ is not None:
            return Lognormal(mean=self.mean_ * k, sd=self.sd * k)  # type: ignore[operator]
        return Lognormal(low=self.low * k, high=self.high * k, confidence=self.confidence)  # type: ignore[operator]


class Constant(_Dist):
    kind: Literal["constant"] = "constant"
    value: float

    def draw(self, rng: "np.random.Generator", n: int) -> "np.ndarray":
        import numpy as np

        return np.full(n, self.value, dtype=np.float64)

    def mean(self) -> float:
        return self.value

    def bounds(self) -> tuple[float, float]:
        return (self.value, self.value)

    def scaled(self, k: float) -> "Constant":
        return Constant(value=self.value * k)


class Empirical(_Dist):
    """Resampling (with replacement) from observed values, e.g. past incident costs."""

    kind: Literal["empirical"] = "empirical"
    samples: list[float] = Field(min_length=1, max_length=MAX_EMPIRICAL)

    def draw(self, rng: "np.random.Generator", n: int) -> "np.ndarray":
        import numpy as np

        values = np.asarray(self.samples, dtype=np.float64)
        # random() then floor keeps the stream position independent of the sample count's bit width.
        index = (rng.random(n) * len(values)).astype(np.intp)
        return values[index]

    def mean(self) -> float:
        return math.fsum(self.samples) / len(self.samples)

    def bounds(self) -> tuple[float, float]:
        return (min(self.samples), max(self.samples))

    def scaled(self, k: float) -> "Empirical":
        return Empirical(samples=[x * k for x in self.samples])


KINDS = ("pert", "triangular", "uniform", "normal", "lognormal", "constant", "empirical")


def normalise_spec(value: Any) -> Any:
    """Turn the file forms (`{pert: [..]}`, `{constant: 2}`, a bare number) into `{kind: ..., ...}` for validation."""
    if isinstance(value, (bool, str)) or value is None:
        raise ValueError(f"expected a number or a distribution such as {{pert: [low, mode, high]}}, got {value!r}")
    if isinstance(value, (int, float)):
        return {"kind": "constant", "value": value}
    if isinstance(value, _Dist):
        return value
    if not isinstance(value, dict) or "kind" in value:
        return value
    if len(value) != 1:
        raise ValueError(f"expected one distribution name as the only key ({', '.join(KINDS)}), got {sorted(map(str, value))}")
    kind, params = next(iter(value.items()))
    if kind == "constant" and isinstance(params, (int, float)) and not isinstance(params, bool):
        return {"kind": "constant", "value": params}
    if kind == "empirical" and isinstance(params, list):
        return {"kind": "empirical", "samples": params}
    if isinstance(params, list) and kind in _POSITIONAL:
        names = _POSITIONAL[kind]
        if len(params) != len(names):
            raise ValueError(f"{kind}: expected {len(names)} values [{', '.join(names)}], got {len(params)}")
        return {"kind": kind, **dict(zip(names, params))}
    if kind not in KINDS:
        raise ValueError(f"unknown distribution {kind!r}; expected one of {', '.join(KINDS)}")
    if isinstance(params, dict):
        return {"kind": kind, **params}
    raise ValueError(f"{kind}: expected a mapping of parameters or a list, got {params!r}")


Distribution = Annotated[
    Union[Pert, Triangular, Uniform, Normal, Lognormal, Constant, Empirical],
    Field(discriminator="kind"),
    BeforeValidator(normalise_spec),
]
