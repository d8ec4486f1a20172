"""End-to-end set-up: a real `iotmark serve` process on a free loopback port, with its own database of the
engine the session runs (a SQLite file in a scratch IOTMARK_HOME, or a fresh database on the private
PostgreSQL server), and the people and certificates the scenarios need, made through the registry's own CLI
and API. The in-process `db` transaction of the parent conftest does not reach the server process."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The console script installed next to this interpreter (the package has no __main__).
IOTMARK = [str(Path(sys.executable).with_name("iotmark"))]
READY_SECONDS = 60
STOP_SECONDS = 40
_database_numbers = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """A running registry process: its URL, database, scratch home and log."""

    process: subprocess.Popen
    url: str
    database_url: str | None
    home: Path
    log: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return http_request(self.url + path, headers=headers)

    def post_json(self, path: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return http_request(self.url + path, json.dumps(body).encode(),
                            {"Content-Type": "application/json", **(headers or {})})

    def cli(self, *args: str) -> str:
        """Run an `iotmark registry ...` command against this server's database; its standard output."""
        extra = ["--database", self.database_url] if self.database_url else []
        done = subprocess.run([*IOTMARK, "registry", *args, *extra], env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"iotmark registry {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> int:
        """SIGTERM, then the exit status (killed and failed if it does not stop in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"server did not stop within {STOP_SECONDS} s of SIGTERM:\n{self.log_text()}")
        return self.process.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


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


def http_request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 30) -> tuple[int, bytes]:
    """(status, body) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IOTMARK_", "DJANGO_"))}
    env.update(IOTMARK_HOME=str(home), IOTMARK_SECRET_KEY="live-test-secret-key-not-for-production-use-0123456789")
    return env


def start_server(home: Path, database_url: str | None, *options: str) -> LiveServer:
    """Start `iotmark serve` with the options and wait until it answers; fails with its log if it does not."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = home / "server.log"
    env = server_env(home)
    command = [*IOTMARK, "serve", "--host", "127.0.0.1", "--port", str(port), *options]
    if database_url:
        command += ["--database", database_url]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(process, f"http://127.0.0.1:{port}", database_url, home, log, env)
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"iotmark serve exited with {process.returncode}:\n{server.log_text()}")
        try:
            if server.get("/api/openapi.json")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"iotmark serve did not answer within {READY_SECONDS} s:\n{server.log_text()}")


def server_database(engine: str, request, folder: Path) -> str:
    """A new, empty database URL of this engine for a server process: a SQLite file in the folder, or a new
    database on the session's PostgreSQL server."""
    if engine != "postgresql":
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'registry.sqlite3'}"
    return request.getfixturevalue("postgres_server").create_database(
        f"iotmark_live_{os.getpid()}_{next(_database_numbers)}")


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
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


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
    server = start_server(folder / "home", server_database(database, request, folder / "database"))
    try:
        yield _seed_site(server, signed, sample_bundle, folder)
    finally:  # also when seeding fails: no server process outlives the session
        server.stop()


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
