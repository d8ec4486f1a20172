"""Fixtures: small programme workspaces and registry facts files written to tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "programme"


def _write_yaml(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def example_workspace(tmp_path: Path) -> Path:
    """A copy of the bundled example workspace (commands may write into it)."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "ws"))


@pytest.fixture
def small_workspace(tmp_path: Path) -> Path:
    """Two units, four people, one course; no assessments or pentests."""
    root = tmp_path / "small"
    _write_yaml(root / "organisation.yaml", {
        "name": "Acme", "vendor": "Acme Devices",
        "units": [{"id": "cam", "name": "Cameras", "products": ["Cam A", "Cam B"]},
                  {"id": "lock", "name": "Locks", "products": ["Lock L"]}],
        "people": [{"id": "ann", "name": "Ann", "unit": "cam", "owns": ["Cam A"]},
                   {"id": "bob", "name": "Bob", "unit": "cam"},
                   {"id": "cid", "name": "Cid", "unit": "lock", "owns": ["Lock L"]},
                   {"id": "dan", "name": "Dan", "unit": "lock", "left": "2026-05-01"}]})
    _write_yaml(root / "training.yaml", {
        "courses": [{"id": "creds", "title": "Credentials", "covers": ["firmware.accounts.", "CWE-798", "5.1-1"]}],
        "assignments": [
            {"person": "ann", "course": "creds", "assigned": "2026-01-01", "due": "2026-02-01",
             "completed": "2026-01-20"},
            {"person": "bob", "course": "creds", "assigned": "2026-01-01", "due": "2026-02-01",
             "completed": "2026-02-10"},
            {"person": "cid", "course": "creds", "assigned": "2026-01-01", "due": "2026-02-01",
             "completed": "2026-01-15"}]})
    return root


def _facts_document(**overrides: object) -> dict:
    """A facts document about Acme Devices: three products, two vulnerability reports."""
    doc = {
        "format": "iotmark-registry-facts/1", "vendor": "Acme Devices", "generated": "2026-06-30T00:00:00Z",
        "products": [
            {"model": "Cam A", "device_class": "c", "required_level": 2,
             "firmware": [{"version": "1", "support_until": "2028-01-01"}],
             "certificates": [{"id": "C1", "firmware_version": "1", "level": 2, "meets_class": True,
                               "issued": "2026-01-01", "expires": "2027-01-01", "status": "valid",
                               "open_findings": {"critical": 1, "high": 0, "medium": 0, "low": 0}}]},
            {"model": "Cam B", "device_class": "c", "required_level": 2,
             "firmware": [{"version": "1", "support_until": "2026-09-01"}],
             "certificates": [{"id": "C2", "firmware_version": "1", "level": 1, "meets_class": False,
                               "issued": "2026-03-01", "expires": "2027-03-01", "status": "valid",
                               "failed_provisions": ["etsi-en-303-645:5.1-1"]}]},
            {"model": "Lock L", "device_class": "c", "required_level": 1,
             "firmware": [{"version": "1", "support_until": "2030-01-01"}],
             "certificates": [{"id": "C3", "firmware_version": "1", "level": 1, "meets_class": True,
                               "issued": "2026-01-01", "expires": "2027-01-01", "status": "revoked"}]}],
        "vulnerability_reports": [
            {"id": "V1", "product": "Cam A", "severity": "critical", "actively_exploited": True,
             "received": "2026-04-01T00:00:00Z", "fixed": "2026-04-11T00:00:00Z",
             "deadlines": [{"report": "early_warning", "due": "2026-04-02T00:00:00Z",
                            "sent": "2026-04-01T12:00:00Z", "on_time": True},
                           {"report": "notification", "due": "2026-04-04T00:00:00Z",
                            "sent": "2026-04-05T00:00:00Z", "on_time": False},
                           {"report": "final_report", "due": "2026-07-20T00:00:00Z", "sent": None,
                            "on_time": None}]},
            {"id": "V2", "product": "Cam B", "severity": "critical", "received": "2026-05-01T00:00:00Z",
             "fixed": "2026-06-10T00:00:00Z", "deadlines": []}],
        "incidents": [], "cases": []}
    doc.update(overrides)
    return doc


@pytest.fixture
def facts_file(tmp_path: Path) -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(_facts_document()), encoding="utf-8")
    return path


@pytest.fixture
def write_yaml():
    """write_yaml(path, data): dump data as YAML to path (folders created)."""
    return _write_yaml


@pytest.fixture
def facts_document():
    """facts_document(**overrides): the Acme facts document as a dict, top-level keys replaced."""
    return _facts_document
