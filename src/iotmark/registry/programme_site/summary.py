"""The numbers the programme pages and the summary API show, computed by the programme library from a stored
workspace and this registry's live facts about the organisation."""

from __future__ import annotations

import datetime as dt
import logging

from pydantic import BaseModel, Field, ValidationError

from iotmark.inputs import InputError
from iotmark.programme.registry_facts import RegistryFacts
from iotmark.programme.results import (ChampionGap, Gap, KpiScorecard, KpiTrend, MaturityTrend, PentestStatus,
                                       TrainingFlag)
from iotmark.programme.workspace import Workspace
from iotmark.registry.models import Organisation
from iotmark.registry.programme_site import services
from iotmark.registry.programme_site.models import WorkspaceVersion
from iotmark.registry.services import RegistryError

logger = logging.getLogger(__name__)
MATURITY_MODELS = ("samm-v2", "iot-practices")


class UnitMaturity(BaseModel):
    """A unit's latest maturity score (0-3) and how it moved since the assessment before."""

    unit: str
    name: str
    model: str
    assessments: int
    latest: dt.date | None
    overall: float | None
    previous: float | None
    change: float | None
    fell: list[str] = Field(default_factory=list)  # practices whose score went down


class ProgrammeSummary(BaseModel):
    organisation: str
    vendor: str
    version: int
    uploaded: dt.datetime
    uploader: str
    as_of: dt.date
    kpis_available: bool
    kpis_note: str  # why the KPIs are missing, when they are
    maturity: list[UnitMaturity]
    maturity_gaps: list[Gap]
    scorecards: list[KpiScorecard]  # organisation, then units, then people still employed
    kpi_trends: list[KpiTrend] = Field(default_factory=list)
    champion_gaps: list[ChampionGap]
    training_flags: list[TrainingFlag]
    pentests: list[PentestStatus]


def live_facts(org: Organisation) -> tuple[RegistryFacts | None, str]:
    """This registry's facts document about the organisation, or None with the reason it is not available."""
    try:
        from iotmark.registry.market.facts import vendor_facts
    except ImportError:
        return None, "this registry does not compute facts about vendors yet, so the KPIs cannot be measured"
    try:
        return RegistryFacts.model_validate(vendor_facts(org)), ""
    except ValidationError as exc:
        logger.error("registry facts of %s do not match the facts format: %s", org.name, exc)
        return None, "the registry's facts about your organisation could not be read; the KPIs are left out"


def unit_maturity(workspace: Workspace, trends: list[MaturityTrend], model: str) -> list[UnitMaturity]:
    by_unit = {t.unit: t for t in trends}
    out = []
    for unit in workspace.organisation.units:
        trend = by_unit.get(unit.id)
        points = trend.points if trend else []
        last = points[-1] if points else None
        previous = points[-2] if len(points) > 1 else None
        fell = sorted(k for k, v in (trend.change if trend else {}).items() if k != "overall" and v < 0)
        out.append(UnitMaturity(unit=unit.id, name=unit.name, model=model, assessments=len(points),
                                latest=last.date if last else None, overall=last.overall if last else None,
                                previous=previous.overall if previous else None,
                                change=trend.change.get("overall") if trend and previous else None, fell=fell))
    return out


def programme_summary(workspace: Workspace, facts: RegistryFacts | None, facts_note: str, as_of: dt.date,
                      version: int, uploaded: dt.datetime, uploader: str, model: str = "samm-v2",
                      trend_quarters: int = 0) -> ProgrammeSummary:
    """Everything the overview shows, from the library's own functions."""
    from iotmark.programme.champions import champion_gaps
    from iotmark.programme.kpis import compute_kpis, kpi_trends
    from iotmark.programme.pentests import pentest_status
    from iotmark.programme.samm import maturity_gaps, maturity_trends
    from iotmark.programme.training import follow_through_flags

    scorecards: list[KpiScorecard] = []
    trends: list[KpiTrend] = []
    if facts is not None:
        try:
            scorecards = compute_kpis(workspace, facts, as_of)
            trends = kpi_trends(workspace, facts, as_of, trend_quarters) if trend_quarters else []
        except InputError as exc:  # e.g. the organisation was renamed after the upload
            facts, facts_note = None, str(exc)
    gaps, _ = maturity_gaps(workspace, as_of)
    return ProgrammeSummary(
        organisation=workspace.organisation.name, vendor=workspace.organisation.vendor, version=version,
        uploaded=uploaded, uploader=uploader, as_of=as_of, kpis_available=facts is not None,
        kpis_note=facts_note if facts is None else "",
        maturity=unit_maturity(workspace, maturity_trends(workspace, model), model),
        maturity_gaps=gaps,
        scorecards=scorecards, kpi_trends=trends, champion_gaps=champion_gaps(workspace, as_of),
        training_flags=follow_through_flags(workspace, facts, as_of), pentests=pentest_status(workspace, as_of))


def as_of_date(value: str | None) -> dt.date:
    """?as_of=YYYY-MM-DD (default today, UTC)."""
    if not value:
        return dt.datetime.now(dt.timezone.utc).date()
    try:
        day = dt.date.fromisoformat(value[:10]) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        raise RegistryError(400, f"as_of {value[:40]!r}: expected a date YYYY-MM-DD between 2000 and 2100")
    return day


def maturity_model(value: str | None) -> str:
    if value in (None, ""):
        return MATURITY_MODELS[0]
    if value not in MATURITY_MODELS:
        raise RegistryError(400, f"model {value[:40]!r}: choose {' or '.join(MATURITY_MODELS)}")
    return value


def compute_summary(org: Organisation, version: WorkspaceVersion, as_of: dt.date, model: str = "samm-v2",
                    trend_quarters: int = 0) -> ProgrammeSummary:
    """The stored version's numbers with this registry's live facts."""
    facts, note = live_facts(org)
    with services.loaded(version) as workspace:
        return programme_summary(workspace, facts, note, as_of, version.number, version.uploaded,
                                 version.uploader, model, trend_quarters)
