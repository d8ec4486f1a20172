"""End-to-end set-up: a real `iotmark serve` process on a free loopback port, with its own database of the
engine the session runs (a SQLite file in a scratch IOTMARK_HOME, or a fresh database on the private
PostgreSQL server), and the people and certificates the scenarios need, made through the registry's own CLI
and API. The in-process `db` transaction of the parent conftest does not reach the server process."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import IOTMARK, LiveServer, server_database, server_env, serving, start_server

def stored_certificate_ids(database_url: str) -> list[str]:
    """Certificate ids in a server's database, read directly (no Django, no server)."""
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            return [row[0] for row in conn.execute("SELECT cert_id FROM registry_certificate ORDER BY cert_id")]
    import psycopg

    from iotmark.registry.settings import database_config

    config = database_config(database_url, Path("."))
    with psycopg.connect(host=config["HOST"], port=config["PORT"], user=config["USER"],
                         dbname=config["NAME"]) as conn:
        return [row[0] for row in conn.execute("SELECT cert_id FROM registry_certificate ORDER BY cert_id")]


@pytest.fixture
def fresh_database(database, request, tmp_path) -> str:
    """An empty database of this session's engine for one test's server."""
    return server_database(database, request, tmp_path / "database")


@pytest.fixture
def launch(tmp_path):
    """Start `iotmark serve` processes for one test (`launch(*options, database_url=...)`); all stopped after."""
    started: list[LiveServer] = []

    def start(*options: str, database_url: str | None = None) -> LiveServer:
        server = start_server(tmp_path / f"home{len(started)}", database_url, *options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@dataclass
class Site:
    """A seeded registry: a lab and a regulator who can log in, three certified products, one revoked label."""

    server: LiveServer
    lab_user: str
    regulator_user: str
    password: str
    valid: dict
    revoked: dict
    compared: list[str]
    upload_certificate: Path
    upload_assessment: Path


@pytest.fixture(scope="session")
def sample_bundle(tmp_path_factory):
    """The bundled sample device's evidence, collected once per session."""
    from iotmark.workflows import collect_sample, sample_dir

    return collect_sample(sample_dir(), tmp_path_factory.mktemp("sample"))[0]


def _sign_variants(bundle, keys: Path, base_url: str, models: list[str]) -> list[tuple[dict, str, str]]:
    """(certificate, its JSON, assessment JSON) of the sample device renamed to each model, signed by the lab."""
    from iotmark.assess.certificate import certificate_bytes
    from iotmark.assess.engine import assess
    from iotmark.workflows import certify

    out = []
    for number, model in enumerate(models):
        variant = bundle.model_copy(update={"target": bundle.target.model_copy(
            update={"model": model, "firmware_version": f"2.{number}.0"})})
        assessment = assess(variant)
        cert = certify(variant, assessment, keys / "issuer.key", base_url=base_url)
        text = certificate_bytes(cert).decode()
        out.append((json.loads(text), text, assessment.model_dump_json(by_alias=True)))
    return out


@pytest.fixture(scope="session")
def site(database, request, signed, sample_bundle, tmp_path_factory) -> Site:
    """One seeded registry process per database engine, shared by the browser scenarios."""
    folder = tmp_path_factory.mktemp(f"site-{database}")
    # Stopped also when seeding fails: no server process outlives the session.
    with serving(folder / "home", server_database(database, request, folder / "database")) as server:
        yield _seed_site(server, signed, sample_bundle, folder)


def _seed_site(server: LiveServer, signed, sample_bundle, folder: Path) -> Site:
    password = "a long browser test password"
    out = server.cli("createuser", "assessor", "--role", "lab", "--org", "Example Test Lab", "--password", password,
                     "--token")
    token = out.rsplit(":", 1)[1].strip()
    # Two commands on different organisations at once: each costs a couple of seconds of start-up.
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda args: server.cli(*args), [
            ("createuser", "inspector", "--role", "regulator", "--org", "Market Surveillance Office",
             "--password", password),
            ("trust-key", str(signed.keys / "issuer.pub"), "--org", "Example Test Lab")]))
    auth = {"Authorization": f"Bearer {token}"}
    made = _sign_variants(sample_bundle, signed.keys, server.url,
                          ["SmartPlug P1", "SmartPlug P2", "SmartPlug Mini", "SmartPlug Outdoor", "SmartPlug Pro"])
    for cert, text, assessment in made[:4]:
        status, body = server.post_json("/api/certificates", {"certificate": text, "assessment": assessment}, auth)
        assert status == 201, body
    revoked = made[3][0]
    status, body = server.post_json(f"/api/certificates/{revoked['id']}/revoke",
                                    {"reason": "The vendor shipped firmware with a hard-coded password."}, auth)
    assert status == 200, body
    upload = folder / "upload"
    upload.mkdir()
    (upload / "certificate.json").write_text(made[4][1], encoding="utf-8")
    (upload / "assessment.json").write_text(made[4][2], encoding="utf-8")
    return Site(server, "assessor", "inspector", password, made[0][0], revoked, [m[0]["id"] for m in made[:3]],
                upload / "certificate.json", upload / "assessment.json")


@pytest.fixture
def launch_fails(tmp_path):
    """Run `iotmark serve` with options that must make it exit at once; (exit code, standard error)."""

    def run(*options: str) -> tuple[int, str]:
        done = subprocess.run([*IOTMARK, "serve", *options], env=server_env(tmp_path / "home"),
                              capture_output=True, text=True, timeout=60)
        return done.returncode, done.stderr

    return run


@pytest.fixture(name="stored_certificate_ids")
def stored_certificate_ids_fixture():
    """`stored_certificate_ids(database_url)` for the tests (conftest functions are not importable)."""
    return stored_certificate_ids
