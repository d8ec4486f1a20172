"""The programme workspace: a folder of YAML files describing the organisation's security programme.

    organisation.yaml      name, vendor (as named in the registry facts), units, people, maturity targets
    champions.yaml         security champions per unit (optional)
    training.yaml          courses with the finding classes they cover, assignments (optional)
    actions.yaml           corrective actions from maturity gaps (optional)
    assessments/*.yaml     one SAMM / IoT-practice assessment per unit and date
    pentests/*.yaml        one external engagement per file, with imported findings and retest states

Every file is read with size and depth limits; any problem is one `InputError` line naming file and field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from iotmark.inputs import InputError, load_model
from iotmark.model import Severity, Strict

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FOLDER_FILES = 500
ANSWER_VALUES = (0.0, 0.25, 0.5, 1.0)

Id = str  # short identifier, validated by pattern where declared
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class Unit(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    products: list[str] = Field(default_factory=list, max_length=1000)  # product models as in the registry


class Person(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    unit: str
    role: str = Field(default="", max_length=100)
    owns: list[str] = Field(default_factory=list, max_length=1000)  # products this person is accountable for
    left: dt.date | None = None  # date the person left the organisation


class Organisation(Strict):
    name: str = Field(min_length=1, max_length=200)
    vendor: str = Field(min_length=1, max_length=200)  # the registry's name for this organisation
    units: list[Unit] = Field(min_length=1, max_length=200)
    people: list[Person] = Field(default_factory=list, max_length=20000)
    # practice id (G-SM, IOT-KP) or "default" -> target score 0-3
    maturity_targets: dict[str, float] = Field(default_factory=dict)
    max_people_per_champion: int = Field(default=25, gt=0)

    @field_validator("maturity_targets")
    @classmethod
    def _targets_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for key, target in value.items():
            if not 0 <= target <= 3:
                raise ValueError(f"target for {key} must be between 0 and 3")
        return value

    @model_validator(mode="after")
    def _references(self) -> "Organisation":
        unit_ids = [u.id for u in self.units]
        _unique(unit_ids, "unit")
        _unique([p.id for p in self.people], "person")
        for person in self.people:
            if person.unit not in unit_ids:
                raise ValueError(f"person {person.id}: unknown unit {person.unit!r}")
        return self

    def unit(self, unit_id: str) -> Unit:
        for unit in self.units:
            if unit.id == unit_id:
                return unit
        raise InputError(f"unknown unit {unit_id!r}; units are {', '.join(u.id for u in self.units)}")

    def person(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)


class Champion(Strict):
    person: str
    unit: str
    since: dt.date
    until: dt.date | None = None
    products: list[str] = Field(default_factory=list, max_length=1000)  # empty: the whole unit


class ChampionsFile(Strict):
    champions: list[Champion] = Field(default_factory=list, max_length=5000)


class Course(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=300)
    # finding classes: check-id prefixes ("firmware.accounts."), CWE ids ("CWE-798"), provisions ("5.1-1")
    covers: list[str] = Field(default_factory=list, max_length=200)


class Assignment(Strict):
    person: str
    course: str
    assigned: dt.date
    due: dt.date
    completed: dt.date | None = None


class TrainingFile(Strict):
    courses: list[Course] = Field(default_factory=list, max_length=1000)
    assignments: list[Assignment] = Field(default_factory=list, max_length=100000)

    @model_validator(mode="after")
    def _known_courses(self) -> "TrainingFile":
        ids = [c.id for c in self.courses]
        _unique(ids, "course")
        for index, assignment in enumerate(self.assignments):
            if assignment.course not in ids:
                raise ValueError(f"assignments.{index}: unknown course {assignment.course!r}")
        return self


class CorrectiveAction(Strict):
    id: str = Field(pattern=ID_PATTERN)
    unit: str
    practice: str = Field(pattern=r"^[A-Z]{1,3}-[A-Z]{2}(-[1-3]-[AB])?$")  # practice or activity id
    title: str = Field(min_length=1, max_length=500)
    owner: str
    due: dt.date
    status: Literal["open", "done", "dropped"] = "open"
    closed: dt.date | None = None


class ActionsFile(Strict):
    actions: list[CorrectiveAction] = Field(default_factory=list, max_length=10000)


class Assessment(Strict):
    """Answers of one unit on one date: question id -> 0, 0.25, 0.5 or 1 (missing questions score 0)."""

    unit: str
    date: dt.date
    assessor: str = Field(default="", max_length=200)
    answers: dict[str, float] = Field(default_factory=dict, max_length=500)
    notes: dict[str, str] = Field(default_factory=dict, max_length=500)

    @field_validator("answers")
    @classmethod
    def _answer_values(cls, value: dict[str, float]) -> dict[str, float]:
        for question, answer in value.items():
            if answer not in ANSWER_VALUES:
                raise ValueError(f"answer to {question} must be one of 0, 0.25, 0.5, 1")
        return value


RetestState = Literal["open", "fixed", "not_fixed", "accepted"]


class PentestFinding(Strict):
    id: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=500)
    severity: Severity = "medium"
    finding_class: str = Field(default="", max_length=200)  # check id or rule id
    cwe: list[str] = Field(default_factory=list, max_length=20)
    product: str | None = Field(default=None, max_length=200)
    location: str = Field(default="", max_length=1000)
    detail: str = Field(default="", max_length=4000)
    found: dt.date | None = None
    retest: RetestState = "open"
    retested: dt.date | None = None
    fingerprint: str = ""  # stable identity across re-imports


class Engagement(Strict):
    id: str = Field(pattern=ID_PATTERN)
    firm: str = Field(min_length=1, max_length=200)
    scope: str = Field(default="", max_length=4000)
    units: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    start: dt.date
    end: dt.date
    retest_due: dt.date | None = None
    findings: list[PentestFinding] = Field(default_factory=list, max_length=20000)

    @model_validator(mode="after")
    def _dates(self) -> "Engagement":
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Workspace(Strict):
    """Everything in a workspace folder, cross-checked (units, people and courses referenced exist)."""

    root: Path
    organisation: Organisation
    champions: list[Champion]
    training: TrainingFile
    actions: list[CorrectiveAction]
    assessments: list[Assessment]
    pentests: list[Engagement]
    pentest_files: dict[str, Path] = Field(default_factory=dict)  # engagement id -> its file

    def unit_of_product(self, product: str) -> str | None:
        return next((u.id for u in self.organisation.units if product in u.products), None)


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what} {item!r} appears twice")
        seen.add(item)


def _optional(path: Path, model: type, default):
    return load_model(path, model, max_bytes=MAX_FILE_BYTES) if path.exists() else default


def _folder(path: Path, model: type) -> list:
    if not path.is_dir():
        return []
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    if len(files) > MAX_FOLDER_FILES:
        raise InputError(f"{path}: {len(files)} files; the limit is {MAX_FOLDER_FILES}")
    return [(file, load_model(file, model, max_bytes=MAX_FILE_BYTES)) for file in files]


def load_workspace(root: Path) -> Workspace:
    """Read and cross-check a workspace folder; raises `InputError` with one line naming file and field."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a workspace folder (expected a folder with organisation.yaml)")
    org_file = root / "organisation.yaml"
    if not org_file.exists():
        raise InputError(f"{org_file}: file not found (every workspace needs organisation.yaml)")
    org = load_model(org_file, Organisation, max_bytes=MAX_FILE_BYTES)
    champions = _optional(root / "champions.yaml", ChampionsFile, ChampionsFile()).champions
    training = _optional(root / "training.yaml", TrainingFile, TrainingFile())
    actions = _optional(root / "actions.yaml", ActionsFile, ActionsFile()).actions
    assessments = _folder(root / "assessments", Assessment)
    pentests = _folder(root / "pentests", Engagement)
    units = {u.id for u in org.units}
    people = {p.id for p in org.people}

    def check(ok: bool, where: Path, message: str) -> None:
        if not ok:
            raise InputError(f"{where}: {message}")

    for i, c in enumerate(champions):
        check(c.unit in units, root / "champions.yaml", f"field champions.{i}.unit: unknown unit {c.unit!r}")
        check(c.person in people, root / "champions.yaml", f"field champions.{i}.person: unknown person {c.person!r}")
    for i, a in enumerate(training.assignments):
        check(a.person in people, root / "training.yaml", f"field assignments.{i}.person: unknown person {a.person!r}")
    for i, a in enumerate(actions):
        check(a.unit in units, root / "actions.yaml", f"field actions.{i}.unit: unknown unit {a.unit!r}")
        check(a.owner in people, root / "actions.yaml", f"field actions.{i}.owner: unknown person {a.owner!r}")
    for file, assessment in assessments:
        check(assessment.unit in units, file, f"field unit: unknown unit {assessment.unit!r}")
    seen_engagements: dict[str, Path] = {}
    for file, engagement in pentests:
        for unit in engagement.units:
            check(unit in units, file, f"field units: unknown unit {unit!r}")
        check(engagement.id not in seen_engagements, file,
              f"engagement id {engagement.id!r} is also used in {seen_engagements.get(engagement.id)}")
        seen_engagements[engagement.id] = file
    return Workspace(root=root, organisation=org, champions=champions, training=training, actions=actions,
                     assessments=[a for _, a in assessments], pentests=[e for _, e in pentests],
                     pentest_files=seen_engagements)
