"""The risk stage's entry points: run a scenario file, compare files, price a device from its evidence.

Each returns JSON-ready data (see `outputs.result_dict`); the CLI only parses arguments and renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from iotmark.inputs import InputError
from iotmark.risk.controls import rank_controls
from iotmark.risk.from_findings import price_device, rank_fixes, rank_library_controls, read_evidence
from iotmark.risk.library import Fleet
from iotmark.risk.ontology import Scenario
from iotmark.risk.outputs import result_dict
from iotmark.risk.portfolio import run_portfolio
from iotmark.risk.scenarios import load_scenario_file

DEFAULT_ITERATIONS = 1_000_000
DEFAULT_SEED = 20240601

Progress = Callable[[int, int], None]


def _simulate(scenarios: Sequence[Scenario], iterations: int, seed: int, correlation: float | list[list[float]],
              workers: int, scheduler: str | None, progress: Progress | None):
    try:
        return run_portfolio(scenarios, iterations, seed, correlation, workers, scheduler, progress)
    except ValueError as exc:  # e.g. an invalid correlation matrix, or inputs that overflow
        raise InputError(str(exc)) from None


def run_file(path: Path, iterations: int | None = None, seed: int | None = None, workers: int = 0,
             scheduler: str | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Simulate every scenario of a file, the portfolio, and rank the file's controls."""
    spec = load_scenario_file(path)
    iterations = iterations or spec.iterations or DEFAULT_ITERATIONS
    seed = spec.seed if seed is None and spec.seed is not None else (DEFAULT_SEED if seed is None else seed)
    corr = spec.portfolio.correlation
    summary = _simulate(spec.scenarios, iterations, seed, corr, workers, scheduler, progress)
    controls = None
    if spec.controls:
        baseline = {s.name: h.mean for s, h in zip(spec.scenarios, summary.scenarios)}
        controls = rank_controls(spec.controls, spec.scenarios, iterations, seed, baseline)
    return result_dict(spec.scenarios, summary, seed=seed, currency=spec.currency,
                       var_level=spec.portfolio.var_level, correlation=corr, controls=controls)


def compare_files(paths: Sequence[Path], iterations: int | None = None, seed: int | None = None,
                  workers: int = 0) -> dict[str, Any]:
    """Run several files with one seed (common random numbers) and report each against the first."""
    runs = [run_file(p, iterations, seed if seed is not None else DEFAULT_SEED, workers) for p in paths]
    base = runs[0]["portfolio"]
    rows = []
    for path, run in zip(paths, runs):
        total = run["portfolio"]
        rows.append({"file": str(path), "mean": total["mean"], "p90": total["percentiles"]["p90"],
                     "p99": total["percentiles"]["p99"], "var": total["var"]["value"],
                     "mean_change": total["mean"] - base["mean"],
                     "mean_change_ratio": (total["mean"] / base["mean"] - 1) if base["mean"] else None})
    return {"baseline": str(paths[0]), "comparison": rows, "runs": runs}


def price_evidence(path: Path, units: int, price: float, turnover: float | None = None,
                   iterations: int = 200_000, seed: int = DEFAULT_SEED, workers: int = 0,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Library scenarios for a device as found and after fixing its weaknesses, with fixes and controls ranked."""
    evidence = read_evidence(path)
    fleet = Fleet(units=units, price=price, turnover=turnover)
    device = price_device(evidence, fleet)
    before = _simulate(device.before, iterations, seed, 0.0, workers, None, progress)
    after = _simulate(device.after, iterations, seed, 0.0, workers, None, None)
    baseline = {s.name: h.mean for s, h in zip(device.before, before.scenarios)}
    out = result_dict(device.before, before, seed=seed)
    after_result = result_dict(device.after, after, seed=seed)
    out.update({
        "target": evidence.target,
        "device_class": evidence.device_class,
        "fleet": {"units": units, "price": price, "turnover": turnover if turnover is not None else units * price},
        "weaknesses": [{k: w[k] for k in ("id", "title", "triggered_by")} for w in device.weaknesses],
        "strengths": [{k: s[k] for k in ("id", "title", "triggered_by")} for s in device.strengths],
        "after_fixing": {"scenarios": after_result["scenarios"], "portfolio": after_result["portfolio"]},
        "risk_reduction": out["portfolio"]["mean"] - after_result["portfolio"]["mean"],
        "fixes": rank_fixes(device, iterations, seed, baseline),
        "controls": rank_library_controls(device, iterations, seed, baseline),
    })
    return out
