"""Maturity: OWASP SAMM v2 and iotmark's IoT practices as data, scored the way the SAMM toolbox scores them.

A stream's score is the sum of its three level answers (each 0, 0.25, 0.5 or 1), a practice's score the mean of
its two streams, a business function's the mean of its practices, the overall score the mean of all practices.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from statistics import fmean

import yaml
from pydantic import Field

from iotmark.model import Strict
from iotmark.programme.results import (
    ActionStatus,
    FunctionScore,
    Gap,
    MaturityPoint,
    MaturityScore,
    MaturityTrend,
    PracticeScore,
    StreamScore,
)
from iotmark.programme.workspace import Assessment, CorrectiveAction, Workspace

DATA = Path(__file__).parent / "data"
MODEL_FILES = {"samm-v2": "samm-v2.yaml", "iot-practices": "iot-practices.yaml"}
DEFAULT_TARGET = 1.5


class Question(Strict):
    id: str
    level: int = Field(ge=1, le=3)
    text: str


class Stream(Strict):
    id: str
    name: str
    questions: list[Question]


class Practice(Strict):
    id: str
    name: str
    streams: list[Stream] = Field(min_length=2, max_length=2)


class BusinessFunction(Strict):
    id: str
    name: str
    practices: list[Practice]


class AnswerOption(Strict):
    value: float
    label: str


class MaturityModel(Strict):
    model: str
    name: str
    version: str
    source: str
    answers: list[AnswerOption]
    functions: list[BusinessFunction]

    def practices(self) -> list[tuple[BusinessFunction, Practice]]:
        return [(f, p) for f in self.functions for p in f.practices]

    def question_ids(self) -> set[str]:
        return {q.id for _, p in self.practices() for s in p.streams for q in s.questions}


@lru_cache(maxsize=None)
def load_maturity_model(name: str) -> MaturityModel:
    """The bundled model `samm-v2` or `iot-practices`."""
    if name not in MODEL_FILES:
        raise ValueError(f"unknown maturity model {name!r}; known: {', '.join(MODEL_FILES)}")
    data = yaml.safe_load((DATA / MODEL_FILES[name]).read_text(encoding="utf-8"))
    return MaturityModel.model_validate(data)


def _round(value: float) -> float:
    return round(value + 0.0, 4)


def score_answers(model: MaturityModel, answers: dict[str, float], targets: dict[str, float] | None = None,
                  ) -> tuple[list[PracticeScore], list[FunctionScore], float]:
    """Practice, function and overall scores for one set of answers (question id -> value)."""
    targets = targets or {}
    practices: list[PracticeScore] = []
    functions: list[FunctionScore] = []
    for function in model.functions:
        function_scores = []
        for practice in function.practices:
            streams = []
            unanswered = []
            for stream in practice.streams:
                levels = {q.level: answers.get(q.id, 0.0) for q in stream.questions}
                unanswered += [q.id for q in stream.questions if q.id not in answers]
                streams.append(StreamScore(stream=stream.id, name=stream.name, levels=levels,
                                           score=_round(sum(levels.values()))))
            score = _round(fmean(s.score for s in streams))
            function_scores.append(score)
            practices.append(PracticeScore(
                practice=practice.id, name=practice.name, function=function.name, score=score, streams=streams,
                target=targets.get(practice.id, targets.get("default", DEFAULT_TARGET)), unanswered=unanswered))
        functions.append(FunctionScore(function=function.name, score=_round(fmean(function_scores))))
    overall = _round(fmean(p.score for p in practices))
    return practices, functions, overall


def score_assessment(assessment: Assessment, model_name: str, targets: dict[str, float] | None = None,
                     ) -> MaturityScore:
    """Score one unit's assessment against one model (answers to the other model's questions are ignored)."""
    model = load_maturity_model(model_name)
    ids = model.question_ids()
    answers = {q: v for q, v in assessment.answers.items() if q in ids}
    practices, functions, overall = score_answers(model, answers, targets)
    return MaturityScore(unit=assessment.unit, date=assessment.date, model=model_name, overall=overall,
                         functions=functions, practices=practices)


def unknown_questions(assessment: Assessment) -> list[str]:
    """Answer keys that belong to no bundled model (typos such as G-SM-A-1 instead of G-SM-1-A)."""
    known = set().union(*(load_maturity_model(m).question_ids() for m in MODEL_FILES))
    return sorted(set(assessment.answers) - known)


def unit_scores(workspace: Workspace, model_name: str, unit: str | None = None) -> list[MaturityScore]:
    """Every assessment in the workspace (of one unit if given), scored, ordered by unit then date."""
    targets = workspace.organisation.maturity_targets
    chosen = [a for a in workspace.assessments if unit is None or a.unit == unit]
    chosen.sort(key=lambda a: (a.unit, a.date))
    return [score_assessment(a, model_name, targets) for a in chosen]


def maturity_trends(workspace: Workspace, model_name: str = "samm-v2", unit: str | None = None,
                    ) -> list[MaturityTrend]:
    """Per unit: its assessments over time and the change per practice between the last two."""
    by_unit: dict[str, list[MaturityScore]] = {}
    for score in unit_scores(workspace, model_name, unit):
        by_unit.setdefault(score.unit, []).append(score)
    trends = []
    for unit_id, scores in by_unit.items():
        points = [MaturityPoint(date=s.date, overall=s.overall, practices={p.practice: p.score for p in s.practices})
                  for s in scores]
        change = {}
        if len(points) >= 2:
            last, previous = points[-1], points[-2]
            change = {k: _round(v - previous.practices.get(k, 0.0)) for k, v in last.practices.items()}
            change["overall"] = _round(last.overall - previous.overall)
        trends.append(MaturityTrend(unit=unit_id, model=model_name, points=points, change=change))
    return trends


def latest_scores(workspace: Workspace, model_name: str) -> dict[str, MaturityScore]:
    """Unit id -> its most recent assessment's score."""
    latest: dict[str, MaturityScore] = {}
    for score in unit_scores(workspace, model_name):
        latest[score.unit] = score  # ordered by date within unit
    return latest


def action_status(action: CorrectiveAction, today: dt.date) -> ActionStatus:
    return ActionStatus(id=action.id, unit=action.unit, practice=action.practice, title=action.title,
                        owner=action.owner, due=action.due, status=action.status,
                        overdue=action.status == "open" and action.due < today)


def maturity_gaps(workspace: Workspace, today: dt.date, unit: str | None = None) -> tuple[list[Gap], list[ActionStatus]]:
    """Practices below target in each unit's latest assessment, with their corrective actions; and all actions."""
    gaps: list[Gap] = []
    actions = [action_status(a, today) for a in workspace.actions if unit is None or a.unit == unit]
    for model_name in MODEL_FILES:
        for unit_id, score in latest_scores(workspace, model_name).items():
            if unit is not None and unit_id != unit:
                continue
            for practice in score.practices:
                if practice.target is None or practice.score >= practice.target:
                    continue
                aimed = [a for a in actions if a.unit == unit_id and a.practice.startswith(practice.practice)
                         and a.status != "dropped"]
                open_actions = [a for a in aimed if a.status == "open"]
                if not open_actions:
                    problem = "no open corrective action"
                elif any(a.overdue for a in open_actions):
                    problem = "corrective action overdue"
                else:
                    problem = None
                gaps.append(Gap(unit=unit_id, practice=practice.practice, name=practice.name, score=practice.score,
                                target=practice.target, actions=[a.id for a in aimed], problem=problem))
    return gaps, actions
