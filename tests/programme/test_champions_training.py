"""Champion coverage gaps and training follow-through flags."""

from __future__ import annotations

import datetime as dt

from iotmark.programme.champions import champion_gaps, roster
from iotmark.programme.registry_facts import load_facts
from iotmark.programme.training import class_matches, follow_through_flags, training_status
from iotmark.programme.workspace import load_workspace

DAY = dt.date(2026, 6, 30)


def test_champion_gaps_name_units_products_and_leavers(small_workspace, write_yaml):
    write_yaml(small_workspace / "champions.yaml", {"champions": [
        {"person": "ann", "unit": "cam", "since": "2026-01-01", "products": ["Cam A"]},
        {"person": "dan", "unit": "lock", "since": "2025-01-01"}]})
    ws = load_workspace(small_workspace)
    gaps = {(g.unit, g.product, g.kind) for g in champion_gaps(ws, DAY)}
    assert gaps == {("cam", "Cam B", "product_without_champion"), ("lock", None, "champion_left"),
                    ("lock", None, "unit_without_champion")}
    assert [c.person for c in roster(ws, DAY)["cam"]] == ["ann"]
    assert roster(ws, DAY)["lock"] == []


def test_training_states(small_workspace):
    states = {s.person: s.state for s in training_status(load_workspace(small_workspace), DAY)}
    assert states == {"ann": "completed", "bob": "completed_late", "cid": "completed"}
    early = {s.person: s.state for s in training_status(load_workspace(small_workspace), dt.date(2026, 1, 25))}
    assert early == {"ann": "completed", "bob": "pending", "cid": "completed"}


def test_flag_carries_certificate_evidence_after_completion(small_workspace, facts_file):
    [flag] = follow_through_flags(load_workspace(small_workspace), load_facts(facts_file), DAY)
    assert (flag.unit, flag.course, flag.completed_by) == ("cam", "creds", ["ann", "bob"])
    [evidence] = flag.evidence
    assert (evidence.source, evidence.date, evidence.finding_class) == ("certificate C2", dt.date(2026, 3, 1),
                                                                        "5.1-1")


def test_pentest_finding_before_completion_is_not_evidence(small_workspace, write_yaml):
    write_yaml(small_workspace / "pentests" / "PT.yaml", {
        "id": "PT", "firm": "F", "units": ["lock"], "start": "2026-01-01", "end": "2026-01-10", "findings": [
            {"id": "1", "title": "hard-coded key", "cwe": ["CWE-798"], "found": "2026-01-05"},
            {"id": "2", "title": "default login", "finding_class": "firmware.accounts.default", "product": "Lock L",
             "found": "2026-02-01"}]})
    [flag] = follow_through_flags(load_workspace(small_workspace), None, DAY)
    assert flag.unit == "lock" and [e.source for e in flag.evidence] == ["pentest PT finding 2"]


def test_class_matching_rules():
    assert class_matches("firmware.accounts.", "firmware.accounts.weak_hash", [])
    assert not class_matches("firmware.accounts.", "firmware.accountsx", [])
    assert class_matches("net.telnet", "net.telnet.open", []) and not class_matches("net.telnet", "net.telnetd", [])
    assert class_matches("cwe-798", "", ["CWE-798"]) and not class_matches("CWE-79", "", ["CWE-798"])
