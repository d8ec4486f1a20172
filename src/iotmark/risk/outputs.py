"""Results as plain data: summaries, VaR, loss exceedance curves, convergence; and their CSV and HTML forms.

The JSON contract of `iotmark risk run --json` is `result_dict`: `{"scenarios": [{"name", "mean", "sd",
"percentiles": {"p10", "p50", "p90", "p95", "p99"}, ...}], "portfolio": {...}}`.
"""

from __future__ import annotations

import csv
import html
import io
import math
from typing import Any, Sequence

import numpy as np

from iotmark.risk.histogram import LossHistogram, Moments
from iotmark.risk.ontology import Scenario
from iotmark.risk.portfolio import PortfolioSummary
from iotmark.risk.simulate import analytic_mean

PERCENTILES = {"p10": 0.10, "p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
LEC_POINTS = 60
# A run is called converged when the standard error of the mean is under 1% of the mean.
CONVERGED_RELATIVE_ERROR = 0.01


def summarise(hist: LossHistogram, var_level: float = 0.95) -> dict[str, Any]:
    """Mean, sd, percentiles, VaR and expected shortfall at `var_level`, and the loss exceedance curve."""
    values = hist.quantiles(list(PERCENTILES.values()) + [var_level])
    return {
        "iterations": hist.n,
        "mean": hist.mean,
        "sd": hist.sd,
        "min": hist.low,
        "max": hist.high,
        "percentiles": dict(zip(PERCENTILES, values[:-1])),
        "var": {"level": var_level, "value": values[-1]},
        "expected_shortfall": {"level": var_level, "value": hist.tail_mean(var_level)},
        "probability_of_no_loss": hist.zeros / hist.n if hist.n else math.nan,
        "lec": loss_exceedance_curve(hist),
    }


def loss_exceedance_curve(hist: LossHistogram, points: int = LEC_POINTS) -> list[dict[str, float]]:
    """Points (loss, P(annual loss > loss)) on a log scale from the 1st percentile to the largest loss."""
    if not hist.n or hist.high <= 0:
        return []
    start = max(hist.quantiles([0.01])[0], hist.high * 1e-6, 1e-6)
    if start >= hist.high:
        losses = [hist.high]
    else:
        losses = list(np.geomspace(start, hist.high, points))
    return [{"loss": float(x), "exceedance": p} for x, p in zip(losses, hist.exceedance(losses))]


def convergence(hist: LossHistogram, expected: float | None) -> dict[str, Any]:
    """Standard error of the mean, and how far the mean is from the analytic one (in standard errors) if known."""
    se = hist.sd / math.sqrt(hist.n) if hist.n else math.nan
    relative = se / hist.mean if hist.mean else 0.0
    out: dict[str, Any] = {"standard_error": se, "relative_error": relative,
                           "converged": relative < CONVERGED_RELATIVE_ERROR, "analytic_mean": expected}
    if expected is not None:
        out["z"] = (hist.mean - expected) / se if se else 0.0
    return out


def _nodes(nodes: dict[str, Moments]) -> dict[str, dict[str, float]]:
    return {name: moments.summary() for name, moments in sorted(nodes.items())}


def result_dict(scenarios: Sequence[Scenario], summary: PortfolioSummary, *, seed: int, currency: str = "EUR",
                var_level: float = 0.95, correlation: float | list[list[float]] = 0.0,
                controls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole run as JSON-ready data (the CLI's `--json` contract)."""
    rows = []
    for scenario, hist, nodes in zip(scenarios, summary.scenarios, summary.nodes):
        row = {"name": scenario.name, "device_class": scenario.device_class, "vendor": scenario.vendor,
               "events": scenario.events, **summarise(hist, var_level)}
        row["nodes"] = _nodes(nodes)
        row["convergence"] = convergence(hist, analytic_mean(scenario))
        rows.append(row)
    portfolio = {"scenarios": len(scenarios), "correlation": correlation, **summarise(summary.total, var_level)}
    for grouping, members in sorted(summary.groups.items()):
        portfolio[f"by_{grouping}"] = {key: _short(hist, var_level) for key, hist in sorted(members.items())}
    out: dict[str, Any] = {"schema": "iotmark-risk-result/1", "currency": currency, "seed": seed,
                           "iterations": summary.total.n, "scenarios": rows, "portfolio": portfolio}
    if controls is not None:
        out["controls"] = controls
    return out


def _short(hist: LossHistogram, var_level: float) -> dict[str, Any]:
    full = summarise(hist, var_level)
    return {key: full[key] for key in ("mean", "sd", "percentiles", "var")}


CSV_COLUMNS = ["kind", "name", "mean", "sd", "p10", "p50", "p90", "p95", "p99", "var_level", "var"]


def to_csv(result: dict[str, Any]) -> str:
    """One row per scenario, per roll-up group and for the portfolio total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def row(kind: str, name: str, data: dict[str, Any]) -> None:
        p = data["percentiles"]
        writer.writerow([kind, name, *(_num(data[k]) for k in ("mean", "sd")), *(_num(p[k]) for k in PERCENTILES),
                         data["var"]["level"], _num(data["var"]["value"])])

    for scenario in result["scenarios"]:
        row("scenario", scenario["name"], scenario)
    portfolio = result["portfolio"]
    for grouping in ("device_class", "vendor"):
        for key, data in portfolio.get(f"by_{grouping}", {}).items():
            row(grouping, key, data)
    row("portfolio", "total", portfolio)
    return buffer.getvalue()


def _num(value: float) -> str:
    return f"{value:.2f}"


def to_html(result: dict[str, Any], title: str = "FAIR risk analysis", chart_svg: str | None = None) -> str:
    """A self-contained HTML page: the summary table, the controls ranking and (optionally) the LEC chart."""
    cur = html.escape(result.get("currency", ""))
    head = "".join(f"<th>{h}</th>" for h in ["Scenario", "Mean", "SD", *[k.upper() for k in PERCENTILES], "VaR"])

    def line(name: str, data: dict[str, Any]) -> str:
        cells = [data["mean"], data["sd"], *data["percentiles"].values(), data["var"]["value"]]
        return f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{v:,.0f}</td>" for v in cells) + "</tr>"

    rows = "".join(line(s["name"], s) for s in result["scenarios"]) + line("Portfolio total", result["portfolio"])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}</style>",
             f"</head><body><h1>{html.escape(title)}</h1>",
             f"<p>{result['iterations']:,} iterations, seed {result['seed']}, annual loss in {cur}.</p>",
             f"<table><tr>{head}</tr>{rows}</table>"]
    if result.get("controls"):
        parts.append("<h2>Controls by value per cost</h2><table><tr><th>Rank</th><th>Control</th><th>Cost</th>"
                     "<th>Risk reduction</th><th>ROSI</th></tr>")
        for c in result["controls"]:
            rosi = "n/a" if c["rosi"] is None else f"{c['rosi']:.2f}"
            parts.append(f"<tr><td>{c['rank']}</td><td>{html.escape(c['name'])}</td><td>{c['cost']:,.0f}</td>"
                         f"<td>{c['risk_reduction']:,.0f}</td><td>{rosi}</td></tr>")
        parts.append("</table>")
    if chart_svg:
        parts.append(f"<h2>Loss exceedance</h2>{chart_svg}")
    parts.append("</body></html>\n")
    return "".join(parts)
