"""The engine matches analytic FAIR results within Monte-Carlo error, and its random streams behave."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from iotmark.risk.histogram import Moments
from iotmark.risk.ontology import Scenario
from iotmark.risk.scenarios import load_scenario_file
from iotmark.risk.simulate import BLOCK, analytic_mean, sample, simulate

STANDARD = Path(__file__).resolve().parents[2] / "examples" / "risk" / "standard.yaml"
PERT_LM = {"pert": {"low": 10_000, "mode": 50_000, "high": 500_000}}


def scenario(**fields) -> Scenario:
    return Scenario.model_validate({"name": "s", **fields})


def within_error(simulated_mean: float, sd: float, n: int, expected: float, sigmas: float = 4.0) -> bool:
    """|mean - expected| below `sigmas` standard errors of the simulated mean."""
    return abs(simulated_mean - expected) < sigmas * sd / math.sqrt(n)


def test_constant_frequency_times_pert_magnitude_has_the_analytic_mean() -> None:
    s = scenario(lef=2, lm=PERT_LM)
    assert analytic_mean(s) == pytest.approx(236_666.6666667, abs=1e-6)
    result = simulate(s, 400_000, seed=11)
    assert within_error(result.mean, result.sd, result.n, 236_666.67)


def test_standard_scenario_mean_is_78067_within_monte_carlo_error() -> None:
    s = load_scenario_file(STANDARD).scenarios[0]
    assert analytic_mean(s) == pytest.approx(78_067.13, abs=0.01)
    result = simulate(s, 1_000_000, seed=7)
    assert within_error(result.mean, result.sd, result.n, 78_067.13)


def test_vulnerability_from_capability_and_strength_matches_numeric_integration() -> None:
    tc = {"low": 0.3, "mode": 0.6, "high": 0.9}
    rs = {"low": 0.4, "mode": 0.5, "high": 0.8}
    s = scenario(tef=1, threat_capability={"pert": tc}, resistance_strength={"pert": rs}, lm=1)

    def pert(p: dict) -> stats.rv_continuous:
        span = p["high"] - p["low"]
        a, b = 1 + 4 * (p["mode"] - p["low"]) / span, 1 + 4 * (p["high"] - p["mode"]) / span
        return stats.beta(a, b, loc=p["low"], scale=span)

    exact, _ = integrate.quad(lambda x: pert(tc).pdf(x) * pert(rs).cdf(x), 0.3, 0.9)
    nodes: dict[str, Moments] = {}
    n = 1_000_000
    simulate(s, n, seed=3, nodes=nodes)
    assert within_error(nodes["vulnerability"].mean, math.sqrt(exact * (1 - exact)), n, exact)


def test_lognormal_from_a_90_percent_interval_reproduces_its_quantiles() -> None:
    s = scenario(lef=1, lm={"lognormal": {"low": 10_000, "high": 1_000_000, "confidence": 0.9}})
    n = 1_000_000
    draws = sample(s, n, seed=5)
    dist = stats.lognorm(s=(math.log(1e6) - math.log(1e4)) / (2 * stats.norm.ppf(0.95)), scale=1e5)
    for q, expected in ((0.05, 10_000), (0.95, 1_000_000)):
        se = math.sqrt(q * (1 - q) / n) / dist.pdf(expected)  # standard error of a sample quantile
        assert abs(np.quantile(draws, q) - expected) < 4 * se
        hist_q = simulate(s, n, seed=5).quantiles([q])[0]  # the streaming histogram agrees as well
        assert abs(hist_q - expected) < 4 * se + 0.002 * expected


def test_the_same_seed_gives_identical_results_and_another_seed_does_not() -> None:
    s = load_scenario_file(STANDARD).scenarios[0]
    a, b, c = sample(s, 50_000, 1), sample(s, 50_000, 1), sample(s, 50_000, 2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scenarios_with_different_names_draw_uncorrelated_streams() -> None:
    spec = load_scenario_file(STANDARD).scenarios[0].model_dump(exclude_none=True)
    first = sample(Scenario.model_validate({**spec, "name": "camera"}), 1_000_000, 9)
    second = sample(Scenario.model_validate({**spec, "name": "gateway"}), 1_000_000, 9)
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.01


def test_poisson_event_counts_give_poisson_annual_losses() -> None:
    s = scenario(events="poisson", lef=3, lm=1)
    n = 400_000
    draws = sample(s, n, seed=4)
    assert np.array_equal(draws, np.round(draws))  # whole numbers of unit-cost events
    assert within_error(draws.mean(), math.sqrt(3), n, 3.0)
    # The sample variance's standard error is sqrt((mu4 - sigma^4) / n); for Poisson(3) mu4 = 3 (1 + 9) = 30.
    assert within_error(draws.var(), math.sqrt(30 - 9), n, 3.0)
    p0 = math.exp(-3)
    assert within_error(float(np.mean(draws == 0)), math.sqrt(p0 * (1 - p0)), n, p0)


def test_poisson_events_with_secondary_loss_keep_the_expected_annual_loss() -> None:
    s = scenario(events="poisson", tef={"pert": [1, 2, 4]}, vulnerability={"uniform": [0.2, 0.6]},
                 primary_loss={"response": {"triangular": [100, 200, 600]}, "replacement": 50},
                 secondary_loss={"frequency": {"pert": [0.1, 0.3, 0.5]}, "magnitude": {"reputation": 1000}})
    expected = analytic_mean(s)
    assert expected == pytest.approx((1 + 8 + 4) / 6 * 0.4 * (300 + 50 + 0.3 * 1000))
    result = simulate(s, 400_000, seed=8)
    assert within_error(result.mean, result.sd, result.n, expected)


@pytest.mark.parametrize("events", ["rate", "poisson"])
def test_chunk_size_does_not_change_the_results(events: str) -> None:
    s = scenario(events=events, tef={"pert": [0.5, 1, 5]}, vulnerability={"normal": {"mean": 0.4, "sd": 0.2}},
                 lm=PERT_LM)
    n = BLOCK * 2 + 1234
    whole, pieces = simulate(s, n, seed=6), simulate(s, n, seed=6, chunk=1000)
    assert (whole.n, whole.zeros, whole.offset, whole.low, whole.high) == \
        (pieces.n, pieces.zeros, pieces.offset, pieces.low, pieces.high)
    assert np.array_equal(whole.counts, pieces.counts)
    assert whole.quantiles([0.1, 0.5, 0.99]) == pieces.quantiles([0.1, 0.5, 0.99])
    assert whole.mean == pytest.approx(pieces.mean, rel=1e-12)


def test_streaming_percentiles_agree_with_exact_percentiles() -> None:
    s = load_scenario_file(STANDARD).scenarios[0]
    draws = sample(s, 300_000, seed=12)
    hist = simulate(s, 300_000, seed=12)
    for q, exact in zip((0.1, 0.5, 0.9, 0.99), np.quantile(draws, [0.1, 0.5, 0.9, 0.99])):
        assert hist.quantiles([q])[0] == pytest.approx(exact, rel=2e-3)  # well inside one 0.4% bin
    assert hist.mean == pytest.approx(draws.mean(), rel=1e-12)


def test_normal_inputs_are_clipped_so_losses_are_never_negative() -> None:
    s = scenario(lef={"normal": {"mean": 0.1, "sd": 1}}, lm={"normal": {"mean": 10, "sd": 100}})
    assert sample(s, 20_000, seed=1).min() >= 0
    assert analytic_mean(s) is None  # clipping changes the mean, so no analytic value is claimed
