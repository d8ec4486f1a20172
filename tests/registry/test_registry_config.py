"""Settings from the environment, the `iotmark registry` commands, and `serve` on a real socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from servers import IOTMARK, serving
from typer.testing import CliRunner

from iotmark.registry.cli import registry_app
from iotmark.registry.models import IssuerKey, Member, Revocation
from iotmark.registry.settings import database_config, secret_key

HOME = Path("/srv/iotmark-home")


def test_without_a_database_url_the_registry_uses_sqlite_in_iotmark_home():
    config = database_config(None, HOME)
    assert (config["ENGINE"], config["NAME"]) == ("django.db.backends.sqlite3", "/srv/iotmark-home/registry.sqlite3")
    # Writers queue for the lock instead of failing when a server and a command write at once.
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE" and config["OPTIONS"]["timeout"] >= 10


def test_a_postgresql_url_is_split_into_django_settings():
    config = database_config("postgresql://reg:p%40ss@db.example:5433/iotmark", HOME)
    assert {k: config[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")} == {
        "ENGINE": "django.db.backends.postgresql", "NAME": "iotmark", "USER": "reg", "PASSWORD": "p@ss",
        "HOST": "db.example", "PORT": "5433"}


def test_a_postgresql_url_can_name_a_unix_socket_folder():
    config = database_config("postgresql://postgres@/iotmark?host=/run/postgresql&port=5444", HOME)
    assert (config["HOST"], config["PORT"], config["USER"]) == ("/run/postgresql", "5444", "postgres")


@pytest.mark.parametrize("url, message", [
    ("mysql://x/y", "IOTMARK_DATABASE_URL: unsupported scheme 'mysql'; use postgresql://user:password@host:port/name "
                    "or sqlite:///path"),
    ("postgresql://host/", "IOTMARK_DATABASE_URL: the URL names no database (postgresql://host/NAME)"),
])
def test_an_unusable_database_url_says_what_to_write(url, message):
    with pytest.raises(ImproperlyConfigured) as caught:
        database_config(url, HOME)
    assert str(caught.value) == message


def test_the_secret_key_is_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("IOTMARK_SECRET_KEY", raising=False)
    first = secret_key(tmp_path)
    assert secret_key(tmp_path) == first
    assert len(first) >= 50
    assert (tmp_path / "registry-secret-key").stat().st_mode & 0o777 == 0o600


def test_createuser_makes_a_lab_assessor_and_prints_a_token_once():
    result = CliRunner().invoke(registry_app, ["createuser", "alice", "--role", "lab", "--org", "Example Test Lab",
                                               "--no-password", "--token"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "created lab user alice for Example Test Lab"
    assert lines[1].startswith("API token (shown once): iotm_")
    member = Member.objects.get(user__username="alice")
    assert (member.role, member.organisation.name, member.organisation.kind) == ("lab", "Example Test Lab", "lab")
    assert member.user.has_usable_password() is False


def test_createuser_refuses_an_unknown_role():
    result = CliRunner().invoke(registry_app, ["createuser", "bob", "--role", "root", "--no-password"])
    assert result.exit_code == 1
    assert result.output == "error: unknown role 'root'; choose one of lab, vendor, regulator, admin\n"


def test_trust_key_registers_a_labs_public_key(signed):
    result = CliRunner().invoke(registry_app, ["trust-key", str(signed.keys / "issuer.pub"), "--org", "Example Test Lab"])
    assert result.exit_code == 0, result.output
    key = IssuerKey.objects.get()
    assert result.output == f"key {key.key_id} of Example Test Lab: trusted\n"
    assert (key.organisation.name, key.trusted) == ("Example Test Lab", True)


def test_trust_key_refuses_a_file_that_is_not_a_public_key(signed):
    result = CliRunner().invoke(registry_app, ["trust-key", str(signed.keys / "issuer.key"), "--org", "Lab"])
    assert result.exit_code == 1
    assert result.output == "error: public key: not a PEM public key\n"
    assert IssuerKey.objects.count() == 0


def test_revoke_from_the_command_line(signed, lab):
    from iotmark.registry import services

    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    result = CliRunner().invoke(registry_app, ["revoke", signed.cert_id, "--reason", "withdrawn by the lab"])
    assert result.exit_code == 0, result.output
    assert Revocation.objects.get().reason == "withdrawn by the lab"


def test_the_cli_module_imports_no_django():
    code = ("import sys, iotmark.registry.cli; "
            "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'ninja', 'pydantic', "
            "'iotmark'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.split()
    assert {"iotmark", "iotmark.registry", "iotmark.registry.cli", "iotmark.registry.commands"} <= set(loaded)
    # Only the registry's own command modules (and their packages): no Django, ninja, pydantic or models.
    assert [m for m in loaded if not m.startswith("iotmark")] == []
    assert [m for m in loaded if m.startswith("iotmark.registry.") and not m.endswith((".cli", ".commands"))
            and m.count(".") > 2] == []


def test_serve_migrates_an_empty_database_named_by_the_environment_and_answers(request, database, tmp_path):
    env = {}
    if database == "postgresql":
        env["IOTMARK_DATABASE_URL"] = request.getfixturevalue("postgres_server").create_database("iotmark_serve")
    with serving(tmp_path, env=env) as server:
        status, body = server.get("/api/certificates/iotm-20260101-0000000000000000")
    assert status == 404
    assert json.loads(body)["status"] == "unknown"
    if database == "sqlite":
        assert (tmp_path / "registry.sqlite3").is_file()


def test_two_commands_writing_to_one_sqlite_registry_at_once_both_succeed(tmp_path, database):
    """A deferred SQLite transaction that reads and then writes fails at once ("database is locked") when another
    writer holds the lock; with IMMEDIATE transactions the second writer waits its turn."""
    if database != "sqlite":
        pytest.skip("the commands write to their own SQLite file; once is enough")
    from concurrent.futures import ThreadPoolExecutor

    env = {**os.environ, "IOTMARK_HOME": str(tmp_path)}
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    assert subprocess.run([*IOTMARK, "registry", "migrate", "--database", url], env=env, capture_output=True,
                          timeout=120).returncode == 0

    def create(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([*IOTMARK, "registry", "createuser", name, "--role", "regulator", "--org",
                               f"Office {name}", "--password", "a long enough password", "--database", url],
                              env=env, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(create, ["a1", "a2", "a3", "a4"]))
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr[-300:] for r in results]
