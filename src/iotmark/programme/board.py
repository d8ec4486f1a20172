"""The board report: one HTML/PDF for the CEO and board, in money and plain words.

Inputs: the programme workspace (maturity, KPIs: the organisation side's functions), the registry facts file
(certificates, incidents, cases), evidence bundles of products (FAIR risk in money), and the workspace's optional
`board.yaml` (units in the field, unit price and cost of a recall per product; decisions to put to the board).
Where an input is missing the section says "not available" and nothing is estimated in its place.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from iotmark.inputs import InputError, load_model
from iotmark.model import Strict

BOARD_FILE = "board.yaml"
RISK_ITERATIONS = 50_000
NOT_AVAILABLE = "not available"


class ProductFleet(Strict):
    units_in_field: int = Field(ge=0, le=10**10)
    unit_price: float = Field(ge=0, le=10**7)
    recall_cost_per_unit: float | None = Field(default=None, ge=0, le=10**7)


class BoardSettings(Strict):
    """workspace/board.yaml: fleet figures per product (as named in the registry) and decisions to ask for."""

    currency: str = Field(default="EUR", max_length=10)
    products: dict[str, ProductFleet] = Field(default_factory=dict)
    decisions: list[str] = Field(default_factory=list, max_length=20)


@dataclass
class ProductRisk:
    product: str
    units: int
    expected_loss: float
    p95: float
    after_fixing: float
    scenarios: list[tuple[str, float]]
    measures: list[dict[str, Any]]  # fixes and library controls with cost and risk reduction


@dataclass
class Board:
    organisation: str
    as_of: dt.date
    currency: str
    risk: list[ProductRisk]
    risk_missing: list[str]
    certification: list[dict[str, Any]]
    maturity: list[Any]  # MaturityTrend
    maturity_chart: str | None
    trend_chart: str | None
    kpis: Any  # KpiScorecard of the organisation
    kpi_trend: list[tuple[dt.date, float | None]]
    incidents: list[dict[str, Any]]
    vulnerabilities: dict[str, int]
    cases: list[dict[str, Any]]
    recall: list[dict[str, Any]]
    recall_missing: list[str]
    decisions: list[str]
    risk_chart: str | None = None
    summary: dict[str, str] = field(default_factory=dict)

    @property
    def total_expected_loss(self) -> float:
        return sum(r.expected_loss for r in self.risk)

    def paying_measures(self) -> list[dict[str, Any]]:
        """Fixes and controls whose yearly cost is below the yearly risk they remove, best first."""
        rows = [m for r in self.risk for m in r.measures if m["risk_reduction"] > m["cost"]]
        return sorted(rows, key=lambda m: -(m["risk_reduction"] - m["cost"]))

    def largest_exposures(self, limit: int = 5) -> list[tuple[str, str, float]]:
        rows = [(r.product, name, mean) for r in self.risk for name, mean in r.scenarios]
        return sorted(rows, key=lambda row: -row[2])[:limit]


def load_settings(workspace: Path) -> BoardSettings | None:
    path = Path(workspace) / BOARD_FILE
    return load_model(path, BoardSettings, max_bytes=1024 * 1024) if path.exists() else None


def _money(value: float, currency: str) -> str:
    if abs(value) >= 1_000_000:
        return f"{currency} {value / 1_000_000:,.1f}m"
    if abs(value) >= 10_000:
        return f"{currency} {value / 1000:,.0f}k"
    return f"{currency} {value:,.0f}"


def _png_data_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=130, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _risk(bundles: list[Path], settings: BoardSettings | None, iterations: int) -> tuple[list[ProductRisk], list[str]]:
    from iotmark.inputs import load_bundle
    from iotmark.risk.analysis import price_evidence

    out, missing = [], []
    for path in bundles:
        model = load_bundle(path).target.model
        fleet = settings.products.get(model) if settings else None
        if fleet is None:
            missing.append(f"{model}: no units in the field and unit price in {BOARD_FILE}")
            continue
        priced = price_evidence(path, units=fleet.units_in_field, price=fleet.unit_price, iterations=iterations, seed=1)
        measures = [{**m, "product": model, "kind": "fix"} for m in priced["fixes"]]
        measures += [{**m, "product": model, "kind": "control"} for m in priced["controls"]]
        out.append(ProductRisk(model, fleet.units_in_field, priced["portfolio"]["mean"],
                               priced["portfolio"]["percentiles"]["p95"], priced["after_fixing"]["portfolio"]["mean"],
                               [(s["name"], s["mean"]) for s in priced["scenarios"]], measures))
    return out, missing


def _certification(facts: Any, as_of: dt.date) -> list[dict[str, Any]]:
    rows = []
    for product in facts.products:
        valid = [c for c in product.certificates if c.status == "valid" and c.expires >= as_of]
        best = max(valid, key=lambda c: c.level, default=None)
        support = max((f.support_until for f in product.firmware if f.support_until), default=None)
        covered = best is not None and best.meets_class and best.level >= product.required_level
        state = "certified" if covered else ("below its class" if best else
                                             ("revoked" if any(c.status == "revoked" for c in product.certificates)
                                              else "no valid certificate"))
        rows.append({"product": product.model, "device_class": product.device_class,
                     "required": product.required_level, "level": best.level if best else None,
                     "expires": best.expires if best else None, "covered": covered, "state": state,
                     "support_until": support, "support_expired": support is not None and support < as_of})
    return rows


def _recall(facts: Any, settings: BoardSettings | None, certification: list[dict[str, Any]]
            ) -> tuple[list[dict[str, Any]], list[str]]:
    open_cases = {c.product for c in facts.cases if c.status == "open"}
    expired = {row["product"] for row in certification if row["support_expired"]}
    rows, missing = [], []
    for product in sorted(open_cases | expired):
        fleet = settings.products.get(product) if settings else None
        why = ", ".join(w for w, hit in (("open case", product in open_cases), ("support ended", product in expired))
                        if hit)
        if fleet is None or fleet.recall_cost_per_unit is None:
            missing.append(f"{product} ({why}): no units in the field or recall cost per unit in {BOARD_FILE}")
            continue
        rows.append({"product": product, "why": why, "units": fleet.units_in_field,
                     "cost_per_unit": fleet.recall_cost_per_unit,
                     "exposure": fleet.units_in_field * fleet.recall_cost_per_unit})
    return rows, missing


def _maturity(workspace: Any) -> tuple[list[Any], str | None, str | None]:
    from iotmark.programme import samm
    from iotmark.programme.radar import save_radar

    trends = samm.maturity_trends(workspace, "samm-v2")
    latest = list(samm.latest_scores(workspace, "samm-v2").values())
    radar = None
    if latest:
        with tempfile.TemporaryDirectory(prefix="iotmark-board-") as work:
            png = next(p for p in save_radar(latest, Path(work) / "radar", "Maturity by unit (OWASP SAMM, 0-3)")
                       if p.suffix == ".png")
            radar = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
    line = None
    if any(len(t.points) > 1 for t in trends):
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7, 3.2))
        try:
            for trend in trends:
                ax.plot([p.date for p in trend.points], [p.overall for p in trend.points], marker="o", label=trend.unit)
            ax.set_ylim(0, 3)
            ax.set_ylabel("overall maturity (0-3)")
            ax.set_title("Maturity over time")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            fig.autofmt_xdate()
            line = _png_data_uri(fig)
        finally:
            plt.close(fig)
    return trends, radar, line


def _risk_chart(risk: list[ProductRisk], currency: str) -> str | None:
    if not risk:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.55 * len(risk)))
    try:
        names = [r.product for r in risk]
        ax.barh(names, [r.expected_loss for r in risk], color="#b3261e", label="as found")
        ax.barh(names, [r.after_fixing for r in risk], color="#1e6b34", label="after the fixes")
        ax.set_xlabel(f"expected loss per year ({currency})")
        ax.xaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
        ax.set_title("Money at risk per product")
        ax.legend(fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        return _png_data_uri(fig)
    finally:
        plt.close(fig)


def build_board(workspace_dir: Path, facts_path: Path, bundles: list[Path] | None = None,
                as_of: dt.date | None = None, iterations: int = RISK_ITERATIONS) -> Board:
    """Gather every section of the board report from the workspace, the registry facts and product bundles."""
    from iotmark.programme.kpis import compute_kpis, kpi_trends
    from iotmark.programme.registry_facts import load_facts
    from iotmark.programme.workspace import load_workspace

    workspace = load_workspace(workspace_dir)
    facts = load_facts(facts_path)
    settings = load_settings(workspace_dir)
    day = as_of or facts.generated.date()
    currency = settings.currency if settings else "EUR"
    cards = compute_kpis(workspace, facts, day)  # also checks the facts are about this organisation
    org_card = next(c for c in cards if c.scope == "organisation")
    org_trend = next((t for t in kpi_trends(workspace, facts, day) if t.scope == "organisation"), None)
    risk, risk_missing = _risk(bundles or [], settings, iterations)
    if not bundles:
        risk_missing.append("no product bundles given (--bundle)")
    certification = _certification(facts, day)
    recall, recall_missing = _recall(facts, settings, certification)
    trends, radar, line = _maturity(workspace)
    reports = facts.vulnerability_reports
    vulnerabilities = {
        "received": len(reports),
        "open": sum(1 for r in reports if r.fixed is None),
        "open_critical": sum(1 for r in reports if r.fixed is None and r.severity == "critical"),
        "actively_exploited": sum(1 for r in reports if r.actively_exploited),
        "late_reports": sum(1 for r in reports for d in r.deadlines if d.on_time is False),
    }
    board = Board(
        organisation=workspace.organisation.name, as_of=day, currency=currency, risk=risk,
        risk_missing=risk_missing, certification=certification, maturity=trends, maturity_chart=radar,
        trend_chart=line, kpis=org_card,
        kpi_trend=[(p.as_of, p.security_score) for p in org_trend.points] if org_trend else [],
        incidents=[{"id": i.id, "product": i.product, "opened": i.opened.date(), "loss": i.third_party_loss_eur}
                   for i in facts.incidents],
        vulnerabilities=vulnerabilities,
        cases=[{"id": c.id, "product": c.product, "opened": c.opened.date(), "status": c.status,
                "grounds": "; ".join(c.grounds), "outcome": c.outcome or "pending"} for c in facts.cases],
        recall=recall, recall_missing=recall_missing, decisions=list(settings.decisions) if settings else [],
        risk_chart=_risk_chart(risk, currency))
    board.decisions += _asks(board)
    board.summary = _summary(board)
    return board


def _asks(board: Board) -> list[str]:
    """Decisions the figures call for."""
    asks = []
    paying = board.paying_measures()
    if paying:
        cost = sum(m["cost"] for m in paying)
        cut = sum(m["risk_reduction"] for m in paying)
        asks.append(f"Fund the {len(paying)} measures that pay for themselves: {_money(cost, board.currency)} a year "
                    f"against {_money(cut, board.currency)} a year less expected loss (figures per measure; "
                    "measures on the same product overlap, so the total saving is lower).")
    below = [row["product"] for row in board.certification if not row["covered"]]
    if below:
        asks.append(f"Set a date by which {', '.join(below)} reach the certification level of their class, or "
                    "stop selling them.")
    if board.recall:
        total = sum(r["exposure"] for r in board.recall)
        asks.append(f"Provision for a possible recall of {', '.join(r['product'] for r in board.recall)} "
                    f"({_money(total, board.currency)}).")
    return asks


def _summary(board: Board) -> dict[str, str]:
    covered = sum(1 for row in board.certification if row["covered"])
    overall = [t.points[-1].overall for t in board.maturity if t.points]
    return {
        "Expected loss per year": _money(board.total_expected_loss, board.currency) if board.risk else NOT_AVAILABLE,
        "Products certified for their class": f"{covered} of {len(board.certification)}",
        "Security score (KPIs)": f"{board.kpis.security_score:.0f} / 100" if board.kpis.security_score is not None
        else NOT_AVAILABLE,
        "Maturity (mean of units, 0-3)": f"{sum(overall) / len(overall):.2f}" if overall else NOT_AVAILABLE,
        "Open non-compliance cases": str(sum(1 for c in board.cases if c["status"] == "open")),
        "Recall exposure": _money(sum(r["exposure"] for r in board.recall), board.currency) if board.recall
        else ("none" if not board.recall_missing else NOT_AVAILABLE),
    }


def render_board_html(board: Board) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("iotmark.programme", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = lambda value: _money(value, board.currency)
    return env.get_template("board.html.j2").render(board=board, not_available=NOT_AVAILABLE)


def write_board(board: Board, out: Path) -> Path:
    """Write the report as .html or .pdf (by the suffix)."""
    html = render_board_html(board)
    suffix = out.suffix.lower()
    if suffix == ".html":
        out.write_text(html, encoding="utf-8")
    elif suffix == ".pdf":
        import weasyprint

        from iotmark.report.pdf import _offline_fetcher

        out.write_bytes(weasyprint.HTML(string=html, base_url=None, url_fetcher=_offline_fetcher()).write_pdf())
    else:
        raise InputError(f"{out}: the board report is written as .pdf or .html")
    return out
