"""`iotmark programme` commands for maturity, KPIs, champions, training and external validation.

    iotmark programme maturity WORKSPACE [--unit U] [--model samm-v2|iot-practices] [--chart radar.png] [--json]
    iotmark programme gaps WORKSPACE [--unit U] [--today D] [--json]
    iotmark programme kpis WORKSPACE --facts FILE [--as-of D] [--trend N] [--json]
    iotmark programme champions WORKSPACE [--today D] [--json]
    iotmark programme training WORKSPACE [--facts FILE] [--today D] [--json]
    iotmark programme pentest import WORKSPACE FILE --engagement ID [--format sarif|csv|bundle] [--product P]
    iotmark programme pentest retest WORKSPACE --engagement ID --finding F --state fixed|not_fixed|accepted|open
    iotmark programme pentest status WORKSPACE [--today D] [--json]

Only typer and the standard library at module level. Bad input ends with one `error: ...` line and exit 2.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from iotmark.programme.cli import programme_app
# Same one-line error handling as `iotmark risk` (light: typer and stdlib only).
from iotmark.risk.cli import _one_line_errors

pentest_app = typer.Typer(help="External validation: pentest engagements, imported findings, retests.",
                          no_args_is_help=True)
programme_app.add_typer(pentest_app, name="pentest")

WORKSPACE = typer.Argument(..., help="Programme workspace folder (organisation.yaml, assessments/, ...).")
AS_JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
TODAY = typer.Option(None, "--today", help="Date to judge against (YYYY-MM-DD); default today.")


def _date(value: Optional[str], option: str) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def _dump(items: Any) -> None:
    def plain(item: Any) -> Any:
        if isinstance(item, list):
            return [plain(i) for i in item]
        if isinstance(item, dict):
            return {k: plain(v) for k, v in item.items()}
        return item.model_dump(mode="json") if hasattr(item, "model_dump") else item

    sys.stdout.write(json.dumps(plain(items), indent=2, ensure_ascii=False) + "\n")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["—" if cell is None else str(cell) for cell in row])
    Console().print(table)


def _workspace(path: Path):
    from iotmark.programme.workspace import load_workspace

    return load_workspace(path)


@programme_app.command("maturity")
def maturity_command(workspace: Path = WORKSPACE,
                     unit: Optional[str] = typer.Option(None, "--unit", help="Only this business unit."),
                     model: str = typer.Option("samm-v2", "--model", help="samm-v2 or iot-practices."),
                     chart: Optional[Path] = typer.Option(None, "--chart", help="Write a radar chart (PNG and SVG)."),
                     as_json: bool = AS_JSON) -> None:
    """SAMM v2 (or IoT-practice) scores per unit and assessment date, with the trend between assessments."""
    with _one_line_errors():
        from iotmark.programme import samm

        ws = _workspace(workspace)
        if unit is not None:
            ws.organisation.unit(unit)
        for assessment in ws.assessments:
            unknown = samm.unknown_questions(assessment)
            if unknown:
                raise ValueError(f"assessment of {assessment.unit} on {assessment.date}: unknown question id "
                                 f"{unknown[0]!r} (ids look like G-SM-1-A)")
        scores = samm.unit_scores(ws, model, unit)
        trends = samm.maturity_trends(ws, model, unit)
        written: list[Path] = []
        if chart is not None:
            from iotmark.programme.radar import save_radar

            latest = list(samm.latest_scores(ws, model).values()) if unit is None else scores
            written = save_radar([s for s in latest if unit is None or s.unit == unit], chart,
                                 f"{ws.organisation.name}: {model}")
        if as_json:
            _dump({"scores": scores, "trends": trends, "charts": [str(p) for p in written]})
            return
        if not scores:
            typer.echo("no assessments in this workspace" + (f" for unit {unit}" if unit else ""))
            return
        rows = [[f"{p.practice} {p.name}", f"{p.target:.2f}" if p.target is not None else None,
                 *[f"{s.practices[i].score:.2f}" for s in scores]] for i, p in enumerate(scores[0].practices)]
        rows.append(["overall", None, *[f"{s.overall:.2f}" for s in scores]])
        _table(f"{model} practice scores (0-3)", ["practice", "target", *[f"{s.unit} {s.date}" for s in scores]],
               rows)
        changes = [[t.unit, f"{t.change['overall']:+.2f}",
                    ", ".join(f"{k} {v:+.2f}" for k, v in sorted(t.change.items(), key=lambda kv: kv[1])
                              if k != "overall" and v < 0) or "none"] for t in trends if t.change]
        if changes:
            _table("change since the previous assessment", ["unit", "overall", "practices that fell"], changes)
        for path in written:
            typer.echo(f"wrote {path}")


@programme_app.command("gaps")
def gaps_command(workspace: Path = WORKSPACE, unit: Optional[str] = typer.Option(None, "--unit"),
                 today: Optional[str] = TODAY, as_json: bool = AS_JSON) -> None:
    """Practices below target in each unit's latest assessment, and the corrective actions with owners and dates."""
    with _one_line_errors():
        from iotmark.programme.samm import maturity_gaps

        ws = _workspace(workspace)
        if unit is not None:
            ws.organisation.unit(unit)
        gaps, actions = maturity_gaps(ws, _date(today, "--today"), unit)
        if as_json:
            _dump({"gaps": gaps, "actions": actions})
            return
        _table("maturity gaps", ["unit", "practice", "score", "target", "actions", "problem"],
               [[g.unit, f"{g.practice} {g.name}", f"{g.score:.2f}", f"{g.target:.2f}", ", ".join(g.actions),
                 g.problem] for g in gaps])
        _table("corrective actions", ["id", "unit", "practice", "title", "owner", "due", "status"],
               [[a.id, a.unit, a.practice, a.title, a.owner, a.due,
                 a.status + (" (OVERDUE)" if a.overdue else "")] for a in actions])


@programme_app.command("kpis")
def kpis_command(workspace: Path = WORKSPACE,
                 facts: Path = typer.Option(..., "--facts", help="Registry facts JSON "
                                            "(iotmark registry vendor facts --vendor NAME --out FILE)."),
                 as_of: Optional[str] = typer.Option(None, "--as-of", help="Date to compute for; default today."),
                 trend: int = typer.Option(0, "--trend", min=0, max=20,
                                           help="Also compute at the last N quarter ends."),
                 scope: Optional[str] = typer.Option(None, "--scope", help="organisation, unit or person."),
                 as_json: bool = AS_JSON) -> None:
    """KPIs per organisation, unit and person, weighted into a 0-100 security score for compensation reviews."""
    with _one_line_errors():
        from iotmark.programme.kpis import compute_kpis, kpi_trends
        from iotmark.programme.registry_facts import load_facts

        if scope not in (None, "organisation", "unit", "person"):
            raise ValueError(f"--scope {scope}: expected organisation, unit or person")
        ws = _workspace(workspace)
        day = _date(as_of, "--as-of")
        cards = [c for c in compute_kpis(ws, load_facts(facts), day) if scope is None or c.scope == scope]
        trends = kpi_trends(ws, load_facts(facts), day, trend) if trend else []
        if scope is not None:
            trends = [t for t in trends if t.scope == scope]
        if as_json:
            _dump({"scorecards": cards, "trends": trends})
            return
        names = [v.kpi for v in cards[0].kpis] if cards else []
        _table(f"KPIs as of {day} (value / score 0-1)", ["scope", "id", "security score", *names],
               [[c.scope, c.id, "no data" if c.security_score is None else f"{c.security_score:.1f}",
                 *[("no data" if v.value is None else f"{v.value:g} / {v.score:.2f}") for v in c.kpis]]
                for c in cards])
        if trends:
            dates = [p.as_of for p in trends[0].points]
            _table("security score trend", ["scope", "id", *map(str, dates)],
                   [[t.scope, t.id, *[("—" if p.security_score is None else f"{p.security_score:.1f}")
                                      for p in t.points]] for t in trends])


@programme_app.command("champions")
def champions_command(workspace: Path = WORKSPACE, today: Optional[str] = TODAY, as_json: bool = AS_JSON) -> None:
    """The security champion roster per business unit and the coverage gaps."""
    with _one_line_errors():
        from iotmark.programme.champions import champion_gaps, roster

        ws = _workspace(workspace)
        day = _date(today, "--today")
        current = roster(ws, day)
        gaps = champion_gaps(ws, day)
        if as_json:
            _dump({"roster": current, "gaps": gaps})
            raise typer.Exit(1 if gaps else 0)
        people = {p.id: p.name for p in ws.organisation.people}
        _table(f"security champions on {day}", ["unit", "champion", "since", "covers"],
               [[unit, people.get(c.person, c.person), c.since, ", ".join(c.products) or "whole unit"]
                for unit, champions in current.items() for c in champions]
               + [[unit, None, None, None] for unit, champions in current.items() if not champions])
        _table("coverage gaps", ["unit", "product", "gap", "detail"],
               [[g.unit, g.product, g.kind, g.detail] for g in gaps])
        if gaps:
            raise typer.Exit(1)


@programme_app.command("training")
def training_command(workspace: Path = WORKSPACE,
                     facts: Optional[Path] = typer.Option(None, "--facts", help="Registry facts JSON, so later "
                                                          "certificates count as evidence too."),
                     today: Optional[str] = TODAY, as_json: bool = AS_JSON) -> None:
    """Training assignments and completion, and follow-through flags with their evidence."""
    with _one_line_errors():
        from iotmark.programme.registry_facts import load_facts
        from iotmark.programme.training import follow_through_flags, training_status

        ws = _workspace(workspace)
        day = _date(today, "--today")
        status = training_status(ws, day)
        flags = follow_through_flags(ws, load_facts(facts) if facts else None, day)
        if as_json:
            _dump({"assignments": status, "flags": flags})
            return
        _table(f"training on {day}", ["person", "unit", "course", "due", "completed", "state"],
               [[s.person, s.unit, s.course, s.due, s.completed, s.state] for s in status])
        _table("follow-through flags (course classes seen again after completion)",
               ["unit", "course", "completed by", "evidence"],
               [[f.unit, f.course, ", ".join(f.completed_by),
                 "; ".join(f"{e.date} {e.source}: {e.finding_class} ({e.detail})" for e in f.evidence)]
                for f in flags])


@pentest_app.command("import")
def pentest_import(workspace: Path = WORKSPACE, file: Path = typer.Argument(..., help="SARIF, CSV or bundle."),
                   engagement: str = typer.Option(..., "--engagement", help="Engagement id (pentests/ID.yaml)."),
                   fmt: Optional[str] = typer.Option(None, "--format", help="sarif, csv or bundle (default: guess)."),
                   product: Optional[str] = typer.Option(None, "--product",
                                                         help="Product for findings that name none.")) -> None:
    """Import an outside firm's findings into an engagement; re-importing keeps retest states."""
    with _one_line_errors():
        from iotmark.programme.pentests import engagement_of, merge_findings, read_findings, save_engagement

        ws = _workspace(workspace)
        current, path = engagement_of(ws, engagement)
        merged, added, present = merge_findings(current, read_findings(file, fmt, product))
        save_engagement(merged, path)
        typer.echo(f"{engagement}: {added} findings added, {present} already imported ({path})")


@pentest_app.command("retest")
def pentest_retest(workspace: Path = WORKSPACE, engagement: str = typer.Option(..., "--engagement"),
                   finding: str = typer.Option(..., "--finding", help="Finding id within the engagement."),
                   state: str = typer.Option(..., "--state", help="fixed, not_fixed, accepted or open."),
                   day: Optional[str] = typer.Option(None, "--date", help="Retest date; default today.")) -> None:
    """Record a retest result for one finding."""
    with _one_line_errors():
        from iotmark.programme.pentests import engagement_of, save_engagement, set_retest

        if state not in ("fixed", "not_fixed", "accepted", "open"):
            raise ValueError(f"--state {state}: expected fixed, not_fixed, accepted or open")
        ws = _workspace(workspace)
        current, path = engagement_of(ws, engagement)
        save_engagement(set_retest(current, finding, state, _date(day, "--date")), path)  # type: ignore[arg-type]
        typer.echo(f"{engagement} {finding}: {state}")


@pentest_app.command("status")
def pentest_status_command(workspace: Path = WORKSPACE, today: Optional[str] = TODAY,
                           as_json: bool = AS_JSON) -> None:
    """Every engagement: scope, dates, findings by retest state, open findings by severity."""
    with _one_line_errors():
        from iotmark.programme.pentests import pentest_status

        ws = _workspace(workspace)
        status = pentest_status(ws, _date(today, "--today"))
        if as_json:
            _dump(status)
            return
        _table("external validation", ["engagement", "firm", "scope", "dates", "findings", "retest", "open by severity",
                                       "retest due"],
               [[s.engagement, s.firm, ", ".join(s.products or s.units), f"{s.start} – {s.end}", s.findings,
                 ", ".join(f"{k} {v}" for k, v in s.by_retest.items() if v),
                 ", ".join(f"{k} {v}" for k, v in s.open_by_severity.items() if v),
                 f"{s.retest_due}{' (OVERDUE)' if s.retest_overdue else ''}" if s.retest_due else None]
                for s in status])
