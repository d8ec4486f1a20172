"""The vendor commands as a user runs them: separate processes on a fresh SQLite registry."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def registry_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("market-cli-home")


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("IOTMARK_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["IOTMARK_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "iotmark.cli", "registry", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_seed_facts_and_overdue_from_the_command_line(database, registry_home, tmp_path):
    assert _run(registry_home, "migrate").returncode == 0
    seeded = _run(registry_home, "vendor", "seed", "30", "--vendors", "2", "--seed", "5")
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.strip() == "created 30 synthetic certificates across 2 vendors"
    again = _run(registry_home, "vendor", "seed", "30", "--vendors", "2", "--seed", "5")
    assert again.returncode == 1 and again.stderr.strip().startswith("error: this database was already seeded")
    with sqlite3.connect(registry_home / "registry.sqlite3") as db:
        name, products = db.execute(
            "SELECT o.name, COUNT(p.id) FROM registry_organisation o JOIN registry_product p ON p.vendor_id = o.id "
            "WHERE o.kind = 'vendor' GROUP BY o.name ORDER BY o.name LIMIT 1").fetchone()
    out = tmp_path / "facts.json"
    written = _run(registry_home, "vendor", "facts", "--vendor", name, "--out", str(out))
    assert written.returncode == 0, written.stderr
    document = json.loads(out.read_text())
    assert document["vendor"] == name and len(document["products"]) == products
    unknown = _run(registry_home, "vendor", "facts", "--vendor", "Nobody Ltd", "--out", str(out))
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "error: no vendor named 'Nobody Ltd' in this registry")
    assert _run(registry_home, "vendor", "overdue").stdout.strip() == "no overdue reports"
