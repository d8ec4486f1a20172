"""KPIs tied to compensation: computed from the registry facts and the workspace per unit, per person and for the
whole organisation, each scored 0-1 and weighted into a 0-100 security score. Definitions are data/kpis.yaml."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from statistics import median
from typing import Literal

import yaml
from pydantic import Field

from iotmark.inputs import InputError, read_structured
from iotmark.model import Strict
from iotmark.programme.registry_facts import RegistryFacts
from iotmark.programme.results import KpiScorecard, KpiTrend, KpiTrendPoint, KpiValue
from iotmark.programme.training import follow_through_flags
from iotmark.programme.workspace import Assignment, Workspace

KPI_FILE = Path(__file__).parent / "data" / "kpis.yaml"


class KpiDefinition(Strict):
    id: str
    name: str
    unit: Literal["share", "count", "days"]
    direction: Literal["higher", "lower"]
    target: float
    floor: float
    weight: float = Field(ge=0)
    description: str
    window_days: int | None = Field(default=None, gt=0)
    min_remaining_days: int | None = Field(default=None, ge=0)

    def score(self, value: float) -> float:
        """0 at the floor, 1 at the target, straight line between, clipped."""
        if self.target == self.floor:
            return 1.0 if (value >= self.target if self.direction == "higher" else value <= self.target) else 0.0
        fraction = (value - self.floor) / (self.target - self.floor)
        return round(min(1.0, max(0.0, fraction)), 4)


@lru_cache(maxsize=1)
def kpi_definitions() -> tuple[KpiDefinition, ...]:
    data = yaml.safe_load(KPI_FILE.read_text(encoding="utf-8"))
    return tuple(KpiDefinition.model_validate(item) for item in data["kpis"])


def definitions_for(workspace: Workspace) -> list[KpiDefinition]:
    """The bundled definitions with the workspace's kpi-weights.yaml applied (if it has one)."""
    definitions = list(kpi_definitions())
    path = workspace.root / "kpi-weights.yaml"
    if not path.exists():
        return definitions
    weights = _read_weights(path)
    known = {d.id for d in definitions}
    for kpi, weight in weights.items():
        if kpi not in known:
            raise InputError(f"{path}: unknown KPI {kpi!r}; known: {', '.join(sorted(known))}")
        if weight < 0:
            raise InputError(f"{path}: field {kpi}: weight must be 0 or more (got {weight})")
    return [d.model_copy(update={"weight": weights.get(d.id, d.weight)}) for d in definitions]


def _read_weights(path: Path) -> dict[str, float]:
    data = read_structured(path, 64 * 1024)
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             for v in data.values()):
        raise InputError(f"{path}: expected a mapping of KPI id to a number")
    return {str(k): float(v) for k, v in data.items()}


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.timezone.utc)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _certified(facts: RegistryFacts, products: list[str], day: dt.date) -> tuple[float | None, str]:
    if not products:
        return None, "no products in scope"
    good = 0
    for model in products:
        product = facts.product(model)
        if product is None:
            continue
        if any(c.status != "revoked" and c.issued <= day < c.expires and c.meets_class
               and c.level >= product.required_level for c in product.certificates):
            good += 1
    return good / len(products), f"{good} of {len(products)} products"


def _open_critical(facts: RegistryFacts, products: list[str], day: dt.date) -> tuple[float | None, str]:
    if not products:
        return None, "no products in scope"
    on_certs = 0
    for model in products:
        product = facts.product(model)
        issued = [c for c in (product.certificates if product else []) if c.status != "revoked" and c.issued <= day]
        if issued:
            on_certs += max(issued, key=lambda c: c.issued).open_findings.critical
    end = _end_of(day)
    reports = sum(1 for r in facts.vulnerability_reports if r.product in products and r.severity == "critical"
                  and _aware(r.received) <= end and (r.fixed is None or _aware(r.fixed) > end))
    return float(on_certs + reports), f"{on_certs} on certificates, {reports} unfixed reports"


def _median_days(facts: RegistryFacts, products: list[str], day: dt.date, window: int) -> tuple[float | None, str]:
    end = _end_of(day)
    start = end - dt.timedelta(days=window)
    days = [(_aware(r.fixed) - _aware(r.received)).total_seconds() / 86400 for r in facts.vulnerability_reports
            if r.product in products and r.fixed is not None and start < _aware(r.fixed) <= end]
    if not days:
        return None, f"no reports fixed in the {window} days before"
    return round(median(days), 2), f"{len(days)} reports fixed"


def _support(facts: RegistryFacts, products: list[str], day: dt.date, remaining: int) -> tuple[float | None, str]:
    if not products:
        return None, "no products in scope"
    horizon = day + dt.timedelta(days=remaining)
    covered = 0
    for model in products:
        product = facts.product(model)
        ends = [f.support_until for f in (product.firmware if product else []) if f.support_until is not None]
        if ends and max(ends) >= horizon:
            covered += 1
    return covered / len(products), f"{covered} of {len(products)} products supported past {horizon.isoformat()}"


def _cra_on_time(facts: RegistryFacts, products: list[str], day: dt.date) -> tuple[float | None, str]:
    end = _end_of(day)
    counted = on_time = 0
    for report in facts.vulnerability_reports:
        if report.product not in products:
            continue
        for deadline in report.deadlines:
            due = _aware(deadline.due)
            sent = _aware(deadline.sent) if deadline.sent is not None and _aware(deadline.sent) <= end else None
            if due > end and sent is None:
                continue  # not yet due and not yet sent: nothing to judge
            counted += 1
            on_time += sent is not None and sent <= due
    if not counted:
        return None, "no CRA reports due"
    return on_time / counted, f"{on_time} of {counted} reports on time"


def _training(workspace: Workspace, flagged: set[tuple[str, str]], assignments: list[Assignment],
              day: dt.date) -> tuple[float | None, str]:
    due = [a for a in assignments if a.due <= day]
    if not due:
        return None, "no training due"
    good = 0
    for a in due:
        person = workspace.organisation.person(a.person)
        on_time = a.completed is not None and a.completed <= a.due
        if on_time and person is not None and (person.unit, a.course) not in flagged:
            good += 1
    return good / len(due), f"{good} of {len(due)} assignments followed through"


def scorecard(workspace: Workspace, facts: RegistryFacts, scope: str, scope_id: str, name: str,
              products: list[str], assignments: list[Assignment], as_of: dt.date,
              flagged: set[tuple[str, str]] | None = None) -> KpiScorecard:
    """KPIs for one scope (a set of products and training assignments) as of a date. `flagged` holds the
    (unit, course) pairs with follow-through flags on that date; computed here when not given."""
    if flagged is None:
        flagged = {(f.unit, f.course) for f in follow_through_flags(workspace, facts, as_of)}
    values: list[KpiValue] = []
    for kpi in definitions_for(workspace):
        if kpi.id == "certified_at_required_level":
            value, basis = _certified(facts, products, as_of)
        elif kpi.id == "open_critical_findings":
            value, basis = _open_critical(facts, products, as_of)
        elif kpi.id == "median_days_to_fix":
            value, basis = _median_days(facts, products, as_of, kpi.window_days or 365)
        elif kpi.id == "support_period_coverage":
            value, basis = _support(facts, products, as_of, kpi.min_remaining_days or 0)
        elif kpi.id == "cra_reports_on_time":
            value, basis = _cra_on_time(facts, products, as_of)
        elif kpi.id == "training_follow_through":
            value, basis = _training(workspace, flagged, assignments, as_of)
        else:  # a definition without a computation is a programming error, not bad input
            raise ValueError(f"KPI {kpi.id} has no computation")
        score = None if value is None else kpi.score(value)
        values.append(KpiValue(kpi=kpi.id, name=kpi.name, value=None if value is None else round(value, 4),
                               score=score, weight=kpi.weight, unit=kpi.unit, basis=basis))
    measured = [v for v in values if v.score is not None and v.weight > 0]
    weights = sum(v.weight for v in measured)
    security = round(100 * sum(v.weight * v.score for v in measured) / weights, 2) if weights else None
    return KpiScorecard(scope=scope, id=scope_id, name=name, as_of=as_of, kpis=values, security_score=security,
                        weights_used=round(weights, 4))


def _check_vendor(workspace: Workspace, facts: RegistryFacts) -> None:
    if facts.vendor != workspace.organisation.vendor:
        raise InputError(f"the facts file is about {facts.vendor!r} but the workspace's vendor is "
                         f"{workspace.organisation.vendor!r} (organisation.yaml field vendor)")


def compute_kpis(workspace: Workspace, facts: RegistryFacts, as_of: dt.date) -> list[KpiScorecard]:
    """Scorecards for the organisation, each unit, and each person still employed (in that order)."""
    _check_vendor(workspace, facts)
    org = workspace.organisation
    people = {p.id: p for p in org.people}
    flagged = {(f.unit, f.course) for f in follow_through_flags(workspace, facts, as_of)}
    cards = [scorecard(workspace, facts, "organisation", org.vendor, org.name,
                       sorted({m for u in org.units for m in u.products}), workspace.training.assignments, as_of,
                       flagged)]
    for unit in org.units:
        assignments = [a for a in workspace.training.assignments if people[a.person].unit == unit.id]
        cards.append(scorecard(workspace, facts, "unit", unit.id, unit.name, unit.products, assignments, as_of,
                               flagged))
    for person in org.people:
        if person.left is not None and person.left <= as_of:
            continue
        assignments = [a for a in workspace.training.assignments if a.person == person.id]
        cards.append(scorecard(workspace, facts, "person", person.id, person.name, person.owns, assignments,
                               as_of, flagged))
    return cards


def quarter_ends(as_of: dt.date, count: int) -> list[dt.date]:
    """`as_of` and the ends of the `count - 1` calendar quarters before it, oldest first."""
    dates = [as_of]
    year, quarter = as_of.year, (as_of.month - 1) // 3  # index of the current quarter, 0-3
    while len(dates) < count:
        quarter -= 1
        if quarter < 0:
            year, quarter = year - 1, 3
        month = quarter * 3 + 3
        dates.append(dt.date(year, month, 31 if month in (3, 12) else 30))
    return sorted(set(dates))


def kpi_trends(workspace: Workspace, facts: RegistryFacts, as_of: dt.date, quarters: int = 4) -> list[KpiTrend]:
    """Each scope's security score and KPI values at the end of the last quarters and on `as_of`."""
    series: dict[tuple[str, str], list[KpiTrendPoint]] = {}
    for day in quarter_ends(as_of, quarters):
        for card in compute_kpis(workspace, facts, day):
            series.setdefault((card.scope, card.id), []).append(KpiTrendPoint(
                as_of=day, security_score=card.security_score, values={v.kpi: v.value for v in card.kpis}))
    return [KpiTrend(scope=scope, id=scope_id, points=points) for (scope, scope_id), points in series.items()]
