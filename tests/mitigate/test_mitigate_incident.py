"""Incidents by playbook with CRA Art. 14 deadlines, stored as JSON under $IOTMARK_HOME/incidents."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from test_mitigate_detect import BOT, bot_traffic
from mitigate_traffic import write
from typer.testing import CliRunner

from iotmark.mitigate.cli import app
from iotmark.mitigate.incidents import (CsfFunction, Incident, IncidentStore, close_incident, complete_task,
                                        cra_report, deadlines, open_obligations, parse_improvement,
                                        load_playbooks, open_incident, record_corrective_measure)
from iotmark.mitigate.untrusted import BadInput

UTC = dt.timezone.utc
AWARE = dt.datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def detection(tmp_path_factory):
    """Real `iotmark mitigate detect --json` output for a capture with a Mirai-like bot."""
    folder = tmp_path_factory.mktemp("incident-detect")
    capture = write(bot_traffic(), folder / "bots.pcapng", "pcapng")
    result = runner.invoke(app, ["detect", str(capture), "--json"])
    assert result.exit_code == 0, result.output
    path = folder / "detect.json"
    path.write_text(result.stdout)
    return path


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("IOTMARK_HOME", str(tmp_path))
    return tmp_path


def _by_stage(incident, now):
    return {d.stage: d for d in deadlines(incident, now)}


def test_the_four_playbooks_give_every_task_an_owner_and_a_csf_function():
    books = load_playbooks()
    assert sorted(books) == ["botnet-enlisted", "compromised-update-server", "default-credentials",
                             "exploited-vulnerability"]
    assert {b.cra_category for b in books.values()} == {"severe_incident", "actively_exploited_vulnerability"}
    for book in books.values():
        assert all(t.owner and isinstance(t.csf, CsfFunction) for t in book.tasks)
        assert {CsfFunction.GOVERN, CsfFunction.IDENTIFY, CsfFunction.DETECT, CsfFunction.RESPOND,
                CsfFunction.RECOVER} <= {t.csf for t in book.tasks}


def test_early_warning_and_notification_fall_due_24_and_72_hours_after_awareness():
    inc = open_incident("exploited-vulnerability", "RCE in web UI", aware_at=AWARE, now=AWARE)
    due = _by_stage(inc, AWARE + dt.timedelta(hours=30))
    assert due["early-warning"].due == dt.datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
    assert due["early-warning"].article == "Art. 14(2)(a)"
    assert due["notification"].due == dt.datetime(2026, 10, 4, 8, 0, tzinfo=UTC)
    assert (due["early-warning"].overdue, due["notification"].overdue) == (True, False)
    assert due["final"].due is None and due["final"].overdue is False


def test_vulnerability_final_report_is_due_14_days_after_the_corrective_measure():
    inc = open_incident("default-credentials", "admin/admin", aware_at=AWARE, now=AWARE)
    record_corrective_measure(inc, dt.datetime(2026, 10, 10, 12, 0, tzinfo=UTC), "firmware 2.4.1")
    final = _by_stage(inc, dt.datetime(2026, 10, 24, 12, 1, tzinfo=UTC))["final"]
    assert final.due == dt.datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert final.overdue is True


def test_severe_incident_final_report_is_due_one_month_after_the_notification():
    inc = open_incident("compromised-update-server", "update host breached", aware_at=AWARE, now=AWARE)
    cra_report(inc, "early-warning", now=AWARE + dt.timedelta(hours=20))
    cra_report(inc, "notification", now=dt.datetime(2026, 10, 31, 9, 0, tzinfo=UTC))
    due = _by_stage(inc, dt.datetime(2026, 11, 15, tzinfo=UTC))
    assert due["final"].due == dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 31 Oct + 1 month: end of November
    assert [d.overdue for d in due.values()] == [False, False, False]
    assert due["notification"].submitted_at == dt.datetime(2026, 10, 31, 9, 0, tzinfo=UTC)


def test_report_lists_what_article_14_asks_and_marks_a_late_report():
    inc = open_incident("botnet-enlisted", "cameras in a botnet", aware_at=AWARE, now=AWARE,
                        member_states=["DE", "FR"])
    complete_task(inc, "contain", now=AWARE + dt.timedelta(hours=2))
    report = cra_report(inc, "early-warning", now=AWARE + dt.timedelta(hours=25))
    assert report["article"] == "Art. 14(4)(a)"
    assert report["late"] is True
    assert report["member_states"] == ["DE", "FR"]
    assert report["measures_taken"] == [{"task": "contain", "csf": "Respond", "done_at": "2026-10-01T10:00:00+00:00",
                                         "title": inc.tasks[2].title}]
    assert report["required_contents"][0] == ("Whether the incident is suspected of being caused by unlawful "
                                              "or malicious acts")
    assert [e.event for e in inc.timeline] == ["aware", "opened", "task done", "CRA early-warning written"]


def test_vulnerability_final_report_needs_a_corrective_measure_first():
    inc = open_incident("exploited-vulnerability", "RCE", aware_at=AWARE, now=AWARE)
    cra_report(inc, "notification", now=AWARE + dt.timedelta(hours=1))
    with pytest.raises(BadInput, match="corrective measure"):
        cra_report(inc, "final", now=AWARE + dt.timedelta(hours=2))


def test_store_round_trips_and_refuses_ids_that_are_paths(tmp_path):
    store = IncidentStore(tmp_path / "incidents")
    inc = open_incident("botnet-enlisted", "x", aware_at=AWARE, now=AWARE)
    path = store.save(inc)
    assert path.name == f"{inc.id}.json"
    assert store.load(inc.id) == inc
    with pytest.raises(BadInput, match="not an incident id"):
        store.load("../../etc/passwd")


def test_cli_opens_from_a_detection_and_flags_overdue_reports(home, detection):
    opened = runner.invoke(app, ["incident", "open", "--playbook", "botnet-enlisted", "--title", "Mirai on cams",
                                 "--from-detection", str(detection), "--aware-at", "2026-10-01T08:00:00"])
    assert opened.exit_code == 0, opened.output
    incident_id = opened.stdout.strip()
    stored = json.loads((home / "incidents" / f"{incident_id}.json").read_text())
    bot = next(h for h in stored["affected_hosts"] if h["address"] == BOT)
    assert (bot["verdict"], bot["behaviours"]) == ("botnet", ["brute_force", "mirai_fingerprint", "telnet_scan"])
    listed = json.loads(runner.invoke(app, ["incident", "list", "--json"]).stdout)
    assert listed == [{"id": incident_id, "title": "Mirai on cams", "playbook": "botnet-enlisted", "status": "open",
                       "open_tasks": 9, "overdue": ["early-warning", "notification"], "closed_at": None}]


def test_cli_task_done_and_reports_are_recorded(home, tmp_path):
    incident_id = runner.invoke(app, ["incident", "open", "-p", "default-credentials", "--title", "admin/admin"]
                                ).stdout.strip()
    assert runner.invoke(app, ["incident", "task", incident_id, "verify", "--done"]).exit_code == 0
    out = tmp_path / "ew.md"
    result = runner.invoke(app, ["incident", "report", incident_id, "--stage", "early-warning",
                                 "--format", "markdown", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith(f"# CRA early-warning — {incident_id}: admin/admin\n")
    shown = json.loads(runner.invoke(app, ["incident", "show", incident_id, "--json"]).stdout)
    assert [t["id"] for t in shown["tasks"] if t["done"]] == ["verify"]
    assert [(d["stage"], d["overdue"], d["submitted_at"] is not None) for d in shown["deadlines"]] == [
        ("early-warning", False, True), ("notification", False, False), ("final", False, False)]


@pytest.mark.parametrize("args, message", [
    (["open", "-p", "nope", "--title", "x"], "error: nope: no playbook 'nope'; known: botnet-enlisted, "
                                               "compromised-update-server, default-credentials, "
                                               "exploited-vulnerability\n"),
    (["show", "INC-20260101-abcdef"], "error: INC-20260101-abcdef: no incident INC-20260101-abcdef in "),
    (["open", "-p", "botnet-enlisted", "--title", "x", "--aware-at", "yesterday"],
     "error: --aware-at: 'yesterday' is not an ISO 8601 time (e.g. 2026-10-01T08:00:00+00:00)\n"),
])
def test_cli_bad_input_is_one_line_and_exit_2(home, args, message):
    result = runner.invoke(app, ["incident", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON at line 1 column 2: Expecting property name enclosed in double quotes"),
    ('{"capture": "x.pcap"}', "not a detection report: expected an object with a 'hosts' list"),
])
def test_cli_refuses_a_detection_file_it_cannot_use(home, tmp_path, content, message):
    bad = tmp_path / "detect.json"
    bad.write_text(content)
    result = runner.invoke(app, ["incident", "open", "-p", "botnet-enlisted", "--title", "x",
                                 "--from-detection", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {bad}: {message}\n"


# --- closing: Recover/Improve outcome ----------------------------------------------------------------------

def _finished(playbook_id: str = "default-credentials") -> "Incident":
    """An incident whose mandatory tasks are done and whose early warning and notification were sent."""
    incident = open_incident(playbook_id, "admin/admin on routers", aware_at=AWARE, now=AWARE)
    for task in incident.tasks:
        if task.mandatory:
            complete_task(incident, task.id, now=AWARE + dt.timedelta(hours=2))
    cra_report(incident, "early-warning", now=AWARE + dt.timedelta(hours=20))
    cra_report(incident, "notification", now=AWARE + dt.timedelta(hours=60))
    return incident


def test_close_records_lessons_and_owned_improvements():
    incident = _finished()
    record_corrective_measure(incident, AWARE + dt.timedelta(days=3))
    cra_report(incident, "final", now=AWARE + dt.timedelta(days=10))
    improvements = [parse_improvement("firmware-engineering: per-unit passwords on every new model"),
                    parse_improvement("soc-analyst:alert on telnet logins")]
    close_incident(incident, "  Credential lists were not checked before release. ", improvements,
                   now=AWARE + dt.timedelta(days=11))
    assert incident.status == "closed"
    assert incident.closure.lessons == "Credential lists were not checked before release."
    assert [(i.owner, i.action) for i in incident.closure.improvements] == [
        ("firmware-engineering", "per-unit passwords on every new model"), ("soc-analyst", "alert on telnet logins")]
    assert (incident.closure.forced, incident.closure.open_at_close) == (False, [])
    assert incident.timeline[-1].event == "closed"
    assert not next(t for t in incident.tasks if t.id == "lessons").done  # not mandatory, so it did not block


def test_close_is_refused_while_a_mandatory_task_or_a_due_report_is_open():
    incident = open_incident("botnet-enlisted", "Mirai", aware_at=AWARE, now=AWARE)
    with pytest.raises(BadInput) as refused:
        close_incident(incident, "lessons", now=AWARE + dt.timedelta(days=1))
    message = str(refused.value)
    assert "still has 10 open obligation(s)" in message  # 8 mandatory tasks + early warning + notification
    assert "task confirm (soc-analyst)" in message and "task lessons" not in message
    assert "CRA early-warning report (Art. 14(4)(a), due 2026-10-02T08:00:00+00:00)" in message
    assert incident.status == "open" and incident.closure is None


def test_the_final_report_blocks_closing_once_its_due_time_is_fixed():
    incident = _finished()
    assert open_obligations(incident, AWARE + dt.timedelta(days=4)) == []  # no corrective measure: not yet due
    record_corrective_measure(incident, AWARE + dt.timedelta(days=3))
    assert open_obligations(incident, AWARE + dt.timedelta(days=4)) == [
        "CRA final report (Art. 14(2)(c), due 2026-10-18T08:00:00+00:00)"]


def test_forced_close_needs_a_reason_and_keeps_what_was_open():
    incident = _finished()
    record_corrective_measure(incident, AWARE + dt.timedelta(days=3))
    with pytest.raises(BadInput, match="a forced close needs --reason"):
        close_incident(incident, "lessons", force=True)
    close_incident(incident, "lessons", force=True, reason="product withdrawn from the market",
                   now=AWARE + dt.timedelta(days=5))
    assert incident.closure.forced is True
    assert incident.closure.reason == "product withdrawn from the market"
    assert incident.closure.open_at_close == ["CRA final report (Art. 14(2)(c), due 2026-10-18T08:00:00+00:00)"]
    with pytest.raises(BadInput, match="already closed"):
        close_incident(incident, "again")


@pytest.mark.parametrize("text, message", [
    ("no owner here", "names no owner"),
    ("Firmware Team: fix it", "the owner a team id"),
    ("psirt-lead:", "the owner a team id"),
])
def test_bad_improvements_are_refused(text, message):
    with pytest.raises(BadInput, match=message):
        parse_improvement(text)


def test_cli_close_refuses_then_forces_and_show_list_give_the_outcome(home):
    incident_id = runner.invoke(app, ["incident", "open", "-p", "default-credentials", "--title", "admin/admin"]
                                ).stdout.strip()
    refused = runner.invoke(app, ["incident", "close", incident_id, "--lessons", "check lists"])
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"error: {incident_id}: {incident_id} still has 9 open obligation(s): task verify")
    assert refused.stderr.count("\n") == 1
    closed = runner.invoke(app, ["incident", "close", incident_id, "--lessons", "check lists", "--force",
                                 "--reason", "duplicate of an older incident",
                                 "--improvement", "psirt-lead: merge duplicates at triage"])
    assert closed.exit_code == 0, closed.output
    assert closed.stdout == f"{incident_id}: closed (forced, 9 open)\n"
    shown = json.loads(runner.invoke(app, ["incident", "show", incident_id, "--json"]).stdout)
    assert shown["status"] == "closed"
    assert shown["closure"]["improvements"] == [{"action": "merge duplicates at triage", "owner": "psirt-lead"}]
    text = runner.invoke(app, ["incident", "show", incident_id]).stdout
    assert "Lessons learned: check lists" in text and "(forced: duplicate of an older incident)" in text
    listed = json.loads(runner.invoke(app, ["incident", "list", "--json"]).stdout)
    assert listed[0]["status"] == "closed" and listed[0]["closed_at"] == shown["closure"]["closed_at"]
