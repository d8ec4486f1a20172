"""Distribution specs: the file forms parse, analytic means hold, scaling keeps the family."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from iotmark.risk.distributions import Distribution, Lognormal, Pert

DIST = TypeAdapter(Distribution)


@pytest.mark.parametrize("spec, kind", [
    (2, "constant"), ({"constant": 2}, "constant"), ({"pert": [1, 2, 3]}, "pert"),
    ({"pert": {"low": 1, "mode": 2, "high": 3, "gamma": 2}}, "pert"), ({"triangular": [1, 2, 3]}, "triangular"),
    ({"uniform": [1, 3]}, "uniform"), ({"normal": {"mean": 2, "sd": 1}}, "normal"),
    ({"lognormal": {"mean": 2, "sd": 1}}, "lognormal"), ({"lognormal": {"low": 1, "high": 4}}, "lognormal"),
    ({"empirical": [1, 2, 3]}, "empirical"),
])
def test_file_forms_parse_to_their_family(spec, kind: str) -> None:
    assert DIST.validate_python(spec).kind == kind


def test_pert_mean_and_gamma() -> None:
    assert Pert(low=10_000, mode=50_000, high=500_000).mean() == pytest.approx(118_333.3333333)
    assert Pert(low=0, mode=1, high=4, gamma=2).mean() == pytest.approx((0 + 2 + 4) / 4)
    draws = Pert(low=0, mode=1, high=4, gamma=2).draw(np.random.default_rng(1), 200_000)
    assert abs(draws.mean() - 1.5) < 4 * draws.std() / math.sqrt(draws.size)


def test_lognormal_from_moments_keeps_its_mean_and_sd() -> None:
    dist = Lognormal(mean=100.0, sd=50.0)
    mu, sigma = dist.log_params()
    assert math.exp(mu + sigma ** 2 / 2) == pytest.approx(100.0)
    assert math.sqrt((math.exp(sigma ** 2) - 1) * math.exp(2 * mu + sigma ** 2)) == pytest.approx(50.0)


def test_scaling_multiplies_every_family_mean() -> None:
    for spec in ({"pert": [1, 2, 6]}, {"triangular": [1, 2, 6]}, {"uniform": [1, 6]}, {"lognormal": {"low": 1, "high": 6}},
                 {"normal": [3, 1]}, 4, {"empirical": [1, 5]}):
        dist = DIST.validate_python(spec)
        assert dist.scaled(2.5).mean() == pytest.approx(2.5 * dist.mean())


@pytest.mark.parametrize("spec", [{"pert": [3, 2, 1]}, {"pert": [1, 2]}, {"uniform": [2, 2]}, "high",
                                  {"pert": [1, 2, 3], "uniform": [1, 2]}, {"lognormal": {"mean": 1}}, True])
def test_invalid_specs_are_refused(spec) -> None:
    with pytest.raises(ValidationError):
        DIST.validate_python(spec)
