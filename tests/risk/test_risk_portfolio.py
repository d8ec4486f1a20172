"""Portfolios roll up by device class and vendor, correlate on ranks, run the same on Dask; controls rank by value."""

from __future__ import annotations

import numpy as np
import pytest

from iotmark.risk.controls import Control, rank_controls
from iotmark.risk.ontology import Scenario
from iotmark.risk.portfolio import run_portfolio
from iotmark.risk.scenarios import parse_scenario_file
from iotmark.risk.simulate import BLOCK, simulate

BASE = {"tef": {"pert": [0.5, 1, 5]}, "vulnerability": {"pert": [0.2, 0.4, 0.7]},
        "lm": {"pert": [10_000, 50_000, 500_000]}}


@pytest.fixture()
def fleet() -> list[Scenario]:
    rows = [("cam-botnet", "camera", "acme"), ("cam-breach", "camera", "acme"), ("lock-safety", "lock", "zenith")]
    return [Scenario.model_validate({**BASE, "name": n, "device_class": c, "vendor": v}) for n, c, v in rows]


def test_portfolio_total_and_roll_ups_are_the_sums_of_their_scenarios(fleet: list[Scenario]) -> None:
    result = run_portfolio(fleet, 100_000, seed=1)
    means = [h.mean for h in result.scenarios]
    assert result.total.mean == pytest.approx(sum(means), rel=1e-12)
    assert result.groups["device_class"]["camera"].mean == pytest.approx(means[0] + means[1], rel=1e-12)
    assert result.groups["vendor"]["zenith"].mean == pytest.approx(means[2], rel=1e-12)
    assert result.total.n == 100_000


def test_correlation_widens_the_total_but_keeps_each_scenario_as_simulated(fleet: list[Scenario]) -> None:
    independent = run_portfolio(fleet, 100_000, seed=2)
    correlated = run_portfolio(fleet, 100_000, seed=2, correlation=0.8)
    for a, b in zip(independent.scenarios, correlated.scenarios):
        assert np.array_equal(a.counts, b.counts)
    assert correlated.total.mean == pytest.approx(independent.total.mean, rel=1e-9)
    assert correlated.total.sd > 1.5 * independent.total.sd


def test_an_invalid_correlation_matrix_is_refused(fleet: list[Scenario]) -> None:
    with pytest.raises(ValueError, match="not a valid correlation matrix"):
        run_portfolio(fleet, 1000, seed=1, correlation=[[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]])


def test_dask_workers_give_the_same_result_as_a_serial_run(fleet: list[Scenario]) -> None:
    serial = run_portfolio(fleet, BLOCK * 4, seed=3)
    parallel = run_portfolio(fleet, BLOCK * 4, seed=3, workers=2)
    assert np.array_equal(serial.total.counts, parallel.total.counts)
    assert parallel.total.mean == pytest.approx(serial.total.mean, rel=1e-12)


def test_controls_are_ranked_by_value_per_cost_with_rosi(fleet: list[Scenario]) -> None:
    strong = Control(name="unique-passwords", cost=10_000, changes={"vulnerability": {"multiply": 0.1}})
    weak = Control(name="banner", cost=10_000, applies_to=["camera"], changes={"vulnerability": {"multiply": 0.9}})
    baseline = {s.name: simulate(s, 50_000, 4).mean for s in fleet}
    rows = rank_controls([weak, strong], fleet, 50_000, 4, baseline)
    assert [r["name"] for r in rows] == ["unique-passwords", "banner"]
    best = rows[0]
    # Common random numbers: scaling vulnerability scales every iteration's loss, so the reduction is exact.
    assert best["risk_reduction"] == pytest.approx(0.9 * sum(baseline.values()), rel=1e-9)
    assert best["rosi"] == pytest.approx((best["risk_reduction"] - 10_000) / 10_000)
    assert rows[1]["scenarios"] == ["cam-botnet", "cam-breach"]


def test_a_control_changing_an_input_the_scenario_lacks_is_a_file_error() -> None:
    from iotmark.inputs import InputError

    data = {"scenarios": [{"name": "s", "lef": 1, "lm": 1}],
            "controls": [{"name": "c", "cost": 1, "changes": {"vulnerability": {"multiply": 0.5}}}]}
    with pytest.raises(InputError, match=r"^f.yaml: controls.0 \(c\): scenario 's' has no input 'vulnerability' to change$"):
        parse_scenario_file(data, "f.yaml")
