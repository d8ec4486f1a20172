"""Result types of the organisation side (maturity, KPIs, champions, training, pentests).

These are what `programme` commands print as JSON and what the board report reads; the functions that build
them are `samm.score_assessment`/`samm.maturity_trends`, `kpis.compute_kpis`, `champions.champion_gaps`,
`training.training_status`/`training.follow_through_flags` and `pentests.pentest_status`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class StreamScore(BaseModel):
    """One stream of a practice: the answer value per maturity level and their sum (0-3)."""

    stream: str  # e.g. G-SM-A
    name: str
    levels: dict[int, float]  # level -> answer value (0, 0.25, 0.5, 1); unanswered levels count 0
    score: float


class PracticeScore(BaseModel):
    """A practice's score: the mean of its two stream scores, 0-3."""

    practice: str  # e.g. G-SM
    name: str
    function: str
    score: float
    streams: list[StreamScore]
    target: float | None = None
    unanswered: list[str] = Field(default_factory=list)  # question ids left blank (scored 0)


class FunctionScore(BaseModel):
    """A business function's score: the mean of its practice scores, 0-3."""

    function: str
    score: float


class MaturityScore(BaseModel):
    """One assessment of one business unit on one date."""

    unit: str
    date: dt.date
    model: str  # "samm-v2" or "iot-practices"
    overall: float  # mean of all practice scores, 0-3
    functions: list[FunctionScore]
    practices: list[PracticeScore]


class MaturityPoint(BaseModel):
    date: dt.date
    overall: float
    practices: dict[str, float]


class MaturityTrend(BaseModel):
    """A unit's assessments in date order and the change between the last two."""

    unit: str
    model: str
    points: list[MaturityPoint]
    change: dict[str, float] = Field(default_factory=dict)  # practice -> last minus previous


class Gap(BaseModel):
    """A practice below its target in the latest assessment, with the corrective actions aimed at it."""

    unit: str
    practice: str
    name: str
    score: float
    target: float
    actions: list[str] = Field(default_factory=list)  # action ids
    problem: str | None = None  # "no corrective action", "action overdue", ...


class ActionStatus(BaseModel):
    id: str
    unit: str
    practice: str
    title: str
    owner: str
    due: dt.date
    status: Literal["open", "done", "dropped"]
    overdue: bool


class KpiValue(BaseModel):
    """One KPI for one scope: the measured value, its 0-1 score, and why (or why there was no data)."""

    kpi: str
    name: str
    value: float | None  # None: nothing to measure in this scope (not counted in the score)
    score: float | None
    weight: float
    unit: str  # "share", "count", "days"
    basis: str  # what was counted, e.g. "3 of 4 products"


class KpiScorecard(BaseModel):
    """KPIs of one business unit or one person as of a date, weighted into a 0-100 security score."""

    scope: Literal["unit", "person", "organisation"]
    id: str
    name: str
    as_of: dt.date
    kpis: list[KpiValue]
    security_score: float | None  # weighted mean of the KPI scores that had data, times 100
    weights_used: float  # sum of the weights that had data


class KpiTrendPoint(BaseModel):
    as_of: dt.date
    security_score: float | None
    values: dict[str, float | None]


class KpiTrend(BaseModel):
    scope: Literal["unit", "person", "organisation"]
    id: str
    points: list[KpiTrendPoint]


class ChampionGap(BaseModel):
    """A unit or product with no active security champion, or a champion entry that no longer holds."""

    unit: str
    product: str | None = None
    kind: Literal["unit_without_champion", "product_without_champion", "champion_left", "champion_overloaded"]
    detail: str


class TrainingStatus(BaseModel):
    person: str
    unit: str
    course: str
    assigned: dt.date
    due: dt.date
    completed: dt.date | None
    state: Literal["completed", "completed_late", "overdue", "pending"]


class FlagEvidence(BaseModel):
    source: str  # "pentest ENG-1 finding F-3", "certificate C-12", ...
    date: dt.date
    finding_class: str  # the course class that matched
    detail: str


class TrainingFlag(BaseModel):
    """A course completed in a unit whose finding classes still show up in that unit's later work."""

    unit: str
    course: str
    completed_by: list[str]
    last_completed: dt.date
    evidence: list[FlagEvidence]


class PentestStatus(BaseModel):
    """One external engagement: scope, dates, findings by retest state."""

    engagement: str
    firm: str
    units: list[str]
    products: list[str]
    start: dt.date
    end: dt.date
    findings: int
    by_retest: dict[str, int]  # open / fixed / not_fixed / accepted -> count
    open_by_severity: dict[str, int]
    retest_due: dt.date | None
    retest_overdue: bool
