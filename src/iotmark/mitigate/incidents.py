"""Incidents run by playbooks (NIST SP 800-61 Rev. 3, tasks under the CSF 2.0 functions), with a timeline,
owners and the EU CRA Article 14 reporting deadlines; stored one JSON file per incident.

Playbooks and the CRA stages are data files (data/playbooks/*.yaml, data/cra-reporting.yaml).
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
import secrets
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotmark.mitigate.untrusted import BadInput, load_json_file, read_limited

STAGES = ("early-warning", "notification", "final")
Stage = Literal["early-warning", "notification", "final"]
CraCategory = Literal["actively_exploited_vulnerability", "severe_incident"]
_ID = re.compile(r"^INC-\d{8}-[0-9a-f]{6}$")
_PLAYBOOK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_INCIDENT_BYTES = 4 * 1024 * 1024


class CsfFunction(str, Enum):
    """The six NIST CSF 2.0 functions that SP 800-61 Rev. 3 arranges incident response under."""

    GOVERN = "Govern"
    IDENTIFY = "Identify"
    PROTECT = "Protect"
    DETECT = "Detect"
    RESPOND = "Respond"
    RECOVER = "Recover"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaybookTask(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    csf: CsfFunction
    owner: str
    mandatory: bool = True  # an incident is not closed while a mandatory task is open (unless forced)


class Playbook(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    summary: str
    cra_category: CraCategory
    tasks: list[PlaybookTask] = Field(min_length=1)


class IncidentTask(_Strict):
    id: str
    title: str
    csf: CsfFunction
    owner: str
    mandatory: bool = True
    done: bool = False
    done_at: Optional[dt.datetime] = None


class Improvement(_Strict):
    """One improvement the review decided on, with the team that owns it."""

    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")


class Closure(_Strict):
    """The Recover/Improve outcome recorded when an incident is closed (SP 800-61r3 with CSF 2.0's
    Improvement category: lessons learned and the improvements they lead to, each owned)."""

    closed_at: dt.datetime
    lessons: str = Field(min_length=1, max_length=10_000)
    improvements: list[Improvement] = []
    forced: bool = False
    reason: Optional[str] = None  # why it was closed with obligations still open (forced only)
    open_at_close: list[str] = []  # the tasks and CRA reports still open when a forced close happened


class TimelineEntry(_Strict):
    at: dt.datetime
    event: str
    detail: str = ""


class ReportRecord(_Strict):
    stage: Stage
    at: dt.datetime


class Incident(_Strict):
    id: str = Field(pattern=_ID.pattern)
    title: str
    playbook: str
    cra_category: CraCategory
    status: Literal["open", "closed"] = "open"
    opened_at: dt.datetime
    aware_at: dt.datetime
    corrective_measure_at: Optional[dt.datetime] = None
    member_states: list[str] = []
    affected_hosts: list[dict[str, Any]] = []
    tasks: list[IncidentTask]
    timeline: list[TimelineEntry]
    reports: list[ReportRecord] = []
    closure: Optional[Closure] = None

    def submitted(self, stage: str) -> Optional[dt.datetime]:
        return next((r.at for r in self.reports if r.stage == stage), None)


class Deadline(_Strict):
    stage: Stage
    article: str
    due: Optional[dt.datetime]
    basis: str
    submitted_at: Optional[dt.datetime]
    overdue: bool


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def incidents_home() -> Path:
    """`$IOTMARK_HOME/incidents` (default ~/.iotmark/incidents), the same home the workflows use."""
    return Path(os.environ.get("IOTMARK_HOME", Path.home() / ".iotmark")) / "incidents"


# --- data -----------------------------------------------------------------------------------------------------

def cra_rules() -> dict[str, Any]:
    text = resources.files("iotmark.mitigate").joinpath("data/cra-reporting.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_playbooks() -> dict[str, Playbook]:
    """Every playbook shipped in data/playbooks, by id."""
    found: dict[str, Playbook] = {}
    folder = resources.files("iotmark.mitigate").joinpath("data/playbooks")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            book = Playbook.model_validate(yaml.safe_load(entry.read_text(encoding="utf-8")))
            found[book.id] = book
    return found


def playbook(playbook_id: str) -> Playbook:
    books = load_playbooks()
    if playbook_id not in books:
        raise BadInput(f"no playbook {playbook_id!r}; known: {', '.join(sorted(books))}")
    return books[playbook_id]


# --- incidents ------------------------------------------------------------------------------------------------

def hosts_from_detection(report: Any) -> list[dict[str, Any]]:
    """The flagged hosts of an `iotmark detect --json` report: address, verdict, confidence, behaviours."""
    if not isinstance(report, dict) or not isinstance(report.get("hosts"), list):
        raise BadInput("not a detection report: expected an object with a 'hosts' list")
    hosts = []
    for i, host in enumerate(report["hosts"]):
        if not isinstance(host, dict) or not isinstance(host.get("address"), str):
            raise BadInput(f"hosts[{i}]: expected an object with an 'address'")
        behaviours = host.get("behaviours", [])
        if not isinstance(behaviours, list) or not all(isinstance(b, str) for b in behaviours):
            raise BadInput(f"hosts[{i}].behaviours: expected a list of names")
        hosts.append({"address": host["address"], "verdict": str(host.get("verdict", "")),
                      "confidence": float(host.get("confidence", 0) or 0), "behaviours": behaviours,
                      "evidence": host.get("evidence", [])})
    return hosts


def open_incident(playbook_id: str, title: str, *, aware_at: dt.datetime | None = None,
                  detection: Any = None, member_states: list[str] | None = None,
                  now: dt.datetime | None = None) -> Incident:
    """A new incident with the playbook's tasks, aware at `aware_at` (default now), hosts from a detection."""
    book = playbook(playbook_id)
    if not title.strip():
        raise BadInput("the incident needs a title")
    opened = _utc(now or now_utc())
    aware = _utc(aware_at) if aware_at else opened
    if aware > opened:
        raise BadInput("the time of awareness cannot be after the incident is opened")
    hosts = hosts_from_detection(detection) if detection is not None else []
    timeline = [TimelineEntry(at=aware, event="aware", detail="manufacturer became aware"),
                TimelineEntry(at=opened, event="opened", detail=f"playbook {book.id}")]
    if hosts:
        timeline.append(TimelineEntry(at=opened, event="detection",
                                      detail=", ".join(f"{h['address']} ({h['verdict']})" for h in hosts)))
    return Incident(id=f"INC-{opened:%Y%m%d}-{secrets.token_hex(3)}", title=title.strip(), playbook=book.id,
                    cra_category=book.cra_category, opened_at=opened, aware_at=aware,
                    member_states=sorted(set(member_states or [])), affected_hosts=hosts,
                    tasks=[IncidentTask(id=t.id, title=t.title, csf=t.csf, owner=t.owner, mandatory=t.mandatory)
                           for t in book.tasks],
                    timeline=timeline)


def complete_task(incident: Incident, task_id: str, now: dt.datetime | None = None) -> Incident:
    task = next((t for t in incident.tasks if t.id == task_id), None)
    if task is None:
        raise BadInput(f"no task {task_id!r} in {incident.id}; tasks: {', '.join(t.id for t in incident.tasks)}")
    if not task.done:
        at = _utc(now or now_utc())
        task.done, task.done_at = True, at
        incident.timeline.append(TimelineEntry(at=at, event="task done", detail=f"{task.id} ({task.owner})"))
    return incident


def open_obligations(incident: Incident, now: dt.datetime | None = None) -> list[str]:
    """What keeps an incident open: mandatory tasks not done and CRA reports whose due time is fixed but
    that were not sent."""
    tasks = [f"task {t.id} ({t.owner})" for t in incident.tasks if t.mandatory and not t.done]
    reports = [f"CRA {d.stage} report ({d.article}, due {d.due.isoformat()})"
               for d in deadlines(incident, now) if d.due is not None and d.submitted_at is None]
    return tasks + reports


def parse_improvement(text: str) -> Improvement:
    """`OWNER: action` → an Improvement (the owner is a team id such as firmware-engineering)."""
    owner, sep, action = text.partition(":")
    if not sep:
        raise BadInput(f"improvement {text[:60]!r} names no owner: write OWNER: ACTION")
    try:
        return Improvement(owner=owner.strip(), action=action.strip())
    except ValidationError:
        raise BadInput(f"improvement {text[:60]!r}: write OWNER: ACTION, the owner a team id "
                       "(lower-case letters, digits, -) and the action at most 500 characters") from None


def close_incident(incident: Incident, lessons: str, improvements: list[Improvement] | None = None, *,
                   force: bool = False, reason: str | None = None, now: dt.datetime | None = None) -> Incident:
    """Close an incident with its lessons learned and improvements.

    Refused while mandatory tasks or fixed-due CRA reports are open, unless `force` with a `reason`; a forced
    close keeps the list of what was still open.
    """
    if incident.status == "closed":
        raise BadInput(f"{incident.id} is already closed")
    if not lessons.strip():
        raise BadInput("closing needs the lessons learned (--lessons)")
    at = _utc(now or now_utc())
    pending = open_obligations(incident, at)
    if pending and not force:
        raise BadInput(f"{incident.id} still has {len(pending)} open obligation(s): {'; '.join(pending)} "
                       "(finish them, or close with --force --reason)")
    if force and not (reason or "").strip():
        raise BadInput("a forced close needs --reason")
    incident.closure = Closure(closed_at=at, lessons=lessons.strip(), improvements=list(improvements or []),
                               forced=bool(force and pending), reason=reason.strip() if force and reason else None,
                               open_at_close=pending)
    incident.status = "closed"
    detail = f"{len(incident.closure.improvements)} improvement(s)"
    if pending:
        detail += f"; forced with {len(pending)} open: {incident.closure.reason}"
    incident.timeline.append(TimelineEntry(at=at, event="closed", detail=detail))
    return incident


def record_corrective_measure(incident: Incident, at: dt.datetime | None = None, detail: str = "") -> Incident:
    when = _utc(at or now_utc())
    incident.corrective_measure_at = when
    incident.timeline.append(TimelineEntry(at=when, event="corrective measure available", detail=detail))
    return incident


def _add_months(value: dt.datetime, months: int) -> dt.datetime:
    month = value.month - 1 + months
    year, month = value.year + month // 12, month % 12 + 1
    return value.replace(year=year, month=month, day=min(value.day, calendar.monthrange(year, month)[1]))


def deadlines(incident: Incident, now: dt.datetime | None = None) -> list[Deadline]:
    """The three CRA Art. 14 stages with due times; a stage is overdue when not submitted and past due."""
    current = _utc(now or now_utc())
    stages = cra_rules()["categories"][incident.cra_category]["stages"]
    found = []
    for stage in STAGES:
        rule = stages[stage]
        due: dt.datetime | None = None
        if "due_hours_after_awareness" in rule:
            hours = rule["due_hours_after_awareness"]
            due, basis = incident.aware_at + dt.timedelta(hours=hours), f"{hours} h after becoming aware"
        elif "due_days_after_corrective_measure" in rule:
            days = rule["due_days_after_corrective_measure"]
            basis = f"{days} days after a corrective or mitigating measure is available"
            if incident.corrective_measure_at:
                due = incident.corrective_measure_at + dt.timedelta(days=days)
        else:
            months = rule["due_months_after_notification"]
            basis = f"{months} month(s) after the incident notification"
            notified = incident.submitted("notification")
            if notified:
                due = _add_months(notified, months)
        submitted = incident.submitted(stage)
        found.append(Deadline(stage=stage, article=rule["article"], due=due, basis=basis, submitted_at=submitted,
                              overdue=submitted is None and due is not None and current > due))
    return found


def cra_report(incident: Incident, stage: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The content of one CRA Art. 14 report stage; records it as submitted in the incident."""
    if stage not in STAGES:
        raise BadInput(f"stage must be one of {', '.join(STAGES)}")
    if stage == "final" and incident.submitted("notification") is None:
        raise BadInput("send the notification before the final report")
    if (stage == "final" and incident.cra_category == "actively_exploited_vulnerability"
            and incident.corrective_measure_at is None):
        raise BadInput("the final report follows a corrective measure: record it with `incident measure` first")
    at = _utc(now or now_utc())
    rules = cra_rules()
    category = rules["categories"][incident.cra_category]
    due = next(d for d in deadlines(incident, at) if d.stage == stage)
    done = [t for t in incident.tasks if t.done]
    report = {
        "regulation": rules["regulation"], "article": category["stages"][stage]["article"],
        "category": incident.cra_category, "stage": stage, "incident": incident.id, "title": incident.title,
        "written_at": at.isoformat(), "aware_at": incident.aware_at.isoformat(),
        "due": due.due.isoformat() if due.due else None, "late": bool(due.due and at > due.due),
        "required_contents": category["stages"][stage]["contents"],
        "member_states": incident.member_states,
        "affected_hosts": [{k: h[k] for k in ("address", "verdict", "behaviours")} for h in incident.affected_hosts],
        "measures_taken": [{"task": t.id, "title": t.title, "csf": t.csf.value, "done_at": t.done_at.isoformat()}
                           for t in done if t.done_at],
        "corrective_measure_at": incident.corrective_measure_at.isoformat() if incident.corrective_measure_at else None,
    }
    if incident.submitted(stage) is None:
        incident.reports.append(ReportRecord(stage=stage, at=at))  # type: ignore[arg-type]
        incident.timeline.append(TimelineEntry(at=at, event=f"CRA {stage} written", detail=report["article"]))
    return report


def report_markdown(report: dict[str, Any]) -> str:
    lines = [f"# CRA {report['stage']} — {report['incident']}: {report['title']}", "",
             f"- Legal basis: {report['regulation']}, {report['article']} ({report['category'].replace('_', ' ')})",
             f"- Became aware: {report['aware_at']}", f"- Due: {report['due'] or 'not yet fixed'}"
             + (" (late)" if report["late"] else ""), f"- Written: {report['written_at']}",
             f"- Member States: {', '.join(report['member_states']) or 'to be completed'}", "",
             "## Required contents", ""]
    lines += [f"- {item}" for item in report["required_contents"]]
    lines += ["", "## Affected hosts", ""]
    lines += [f"- {h['address']}: {h['verdict']} ({', '.join(h['behaviours'])})" for h in report["affected_hosts"]] \
        or ["- none recorded"]
    lines += ["", "## Measures taken", ""]
    lines += [f"- {m['done_at']} {m['title']} ({m['csf']})" for m in report["measures_taken"]] or ["- none yet"]
    return "\n".join(lines) + "\n"


# --- storage --------------------------------------------------------------------------------------------------

class IncidentStore:
    """One JSON file per incident in a folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or incidents_home()

    def _path(self, incident_id: str) -> Path:
        if not _ID.match(incident_id):  # the id becomes a file name: never let it name another path
            raise BadInput(f"{incident_id!r} is not an incident id (INC-YYYYMMDD-xxxxxx)")
        return self.folder / f"{incident_id}.json"

    def save(self, incident: Incident) -> Path:
        path = self._path(incident.id)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(incident.model_dump_json(indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    def load(self, incident_id: str) -> Incident:
        path = self._path(incident_id)
        if not path.is_file():
            raise BadInput(f"no incident {incident_id} in {self.folder}")
        return self._read(path)

    def _read(self, path: Path) -> Incident:
        try:
            return Incident.model_validate_json(read_limited(path, MAX_INCIDENT_BYTES))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise BadInput(f"not an incident: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None

    def all(self) -> list[Incident]:
        if not self.folder.is_dir():
            return []
        return sorted((self._read(p) for p in self.folder.glob("INC-*.json")), key=lambda i: (i.opened_at, i.id))


def load_detection(path: Path) -> Any:
    """An `iotmark detect --json` report, read within limits."""
    return load_json_file(path, max_bytes=64 * 1024 * 1024)
