"""Interop fixtures: a record list built without a database, a second real registry process (SQLite) holding a
certificate uploaded over HTTP, and a small hostile HTTP server."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

IOTMARK = str(Path(sys.executable).with_name("iotmark"))
READY_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def record_document(signed) -> dict:
    """A record list holding the sample certificate's record, built without a database (for import tests)."""
    import datetime as dt

    from iotmark.model import Assessment, Certificate
    from iotmark.registry.interop import cta2120

    stored = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    record = cta2120.build_record(Certificate.model_validate_json(signed.valid),
                                  Assessment.model_validate_json(signed.assessment), "Example Test Lab", stored, stored)
    return {"schema": cta2120.LIST_SCHEMA_ID, "registry": "https://registry-b.example", "since": None, "count": 1,
            "page": 1, "next": None, "records": [record]}


@pytest.fixture
def separate_process(database):
    """For tests that drive another process with its own database: the in-process engine does not matter, so
    they run once, in the SQLite pass."""
    if database != "sqlite":
        pytest.skip("drives a separate registry process; runs once, in the SQLite pass")


@dataclass
class SecondRegistry:
    url: str
    database: str
    env: dict[str, str] = field(repr=False)
    process: subprocess.Popen = field(repr=False)
    token: str = ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([IOTMARK, "registry", *args, "--database", self.database], env=self.env,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, f"iotmark registry {' '.join(args)} failed: {done.stderr}"
        return done


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"second registry exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/api/v1/records", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"second registry not ready within {READY_SECONDS} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def second_registry(signed):
    """`iotmark serve` on a free port with its own SQLite file; a lab user created and its key trusted with the
    CLI, and the sample's valid certificate uploaded over HTTP with the lab's token."""
    home = Path(tempfile.mkdtemp(prefix="iotmark-second-registry-"))
    database = f"sqlite:///{home / 'second.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if k not in ("IOTMARK_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(IOTMARK_HOME=str(home), IOTMARK_ALLOWED_HOSTS="127.0.0.1,localhost")
    port = free_port()
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([IOTMARK, "serve", "--port", str(port), "--database", database, "--threads", "2"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    registry = SecondRegistry(f"http://127.0.0.1:{port}", database, env, process)
    try:
        _wait_ready(registry.url, process, log)
        created = registry.cli("createuser", "remote-assessor", "--role", "lab", "--org", "Remote Test Lab",
                               "--no-password", "--token")
        registry.token = created.stdout.strip().rsplit(" ", 1)[-1]
        registry.cli("trust-key", str(signed.keys / "issuer.pub"), "--org", "Remote Test Lab")
        body = json.dumps({"certificate": signed.valid, "assessment": signed.assessment}).encode()
        request = urllib.request.Request(registry.url + "/api/certificates", data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {registry.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Hostile(http.server.BaseHTTPRequestHandler):
    """Answers every GET the way `server.mode` says."""

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        mode, valid = self.server.mode, self.server.valid_page
        if mode == "silent":
            self.server.release.wait(10)
            return
        if mode == "oversized":
            body = b'{"schema": "iotmark-cta2120-records/1", "records": [' + b" " * (9 * 1024 * 1024) + b"]}"
        elif mode == "invalid":
            body = b'{"schema": "iotmark-cta2120-records/1", "records": [{"QR_code_url": '
        elif mode == "deep":
            body = b"[" * 100_000 + b"]" * 100_000
        elif mode == "bad_record":
            page = json.loads(valid)
            page["records"][0]["support_date"] = "soon"
            body = json.dumps(page).encode()
        elif mode == "elsewhere":
            page = json.loads(valid)
            page["next"] = "http://203.0.113.9/api/v1/records?page=2"
            body = json.dumps(page).encode()
        else:
            body = valid
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if mode != "oversized":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def hostile(second_registry):
    """A threaded http.server on loopback; set `.mode` to silent | oversized | invalid | deep | bad_record |
    elsewhere. `valid_page` is a real page of the second registry, for the modes that spoil one field."""
    with urllib.request.urlopen(second_registry.url + "/api/v1/records", timeout=10) as response:
        valid = response.read()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    server.mode, server.valid_page, server.release = "valid", valid, threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
