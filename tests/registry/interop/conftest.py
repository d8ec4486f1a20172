"""Interop fixtures: a record list built without a database, a second real registry process (SQLite) holding a
certificate uploaded over HTTP, and a small hostile HTTP server."""

from __future__ import annotations

import http.server
import json
import subprocess
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from servers import LiveServer, serving


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
    server: LiveServer = field(repr=False)
    token: str = ""

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def database(self) -> str:
        return self.server.database_url

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = self.server.run_cli(*args)
        if check:
            assert done.returncode == 0, f"iotmark registry {' '.join(args)} failed: {done.stderr}"
        return done


@pytest.fixture(scope="session")
def second_registry(signed):
    """`iotmark serve` on a free port with its own SQLite file; a lab user created and its key trusted with the
    CLI, and the sample's valid certificate uploaded over HTTP with the lab's token."""
    home = Path(tempfile.mkdtemp(prefix="iotmark-second-registry-"))
    database = f"sqlite:///{home / 'second.sqlite3'}"
    with serving(home, database, "--threads", "2", env={"IOTMARK_ALLOWED_HOSTS": "127.0.0.1,localhost"},
                 ready_path="/api/v1/records") as server:
        registry = SecondRegistry(server)
        created = registry.cli("createuser", "remote-assessor", "--role", "lab", "--org", "Remote Test Lab",
                               "--no-password", "--token")
        registry.token = created.stdout.strip().rsplit(" ", 1)[-1]
        registry.cli("trust-key", str(signed.keys / "issuer.pub"), "--org", "Remote Test Lab")
        status, body = server.post_json("/api/certificates", {"certificate": signed.valid,
                                                              "assessment": signed.assessment},
                                        {"Authorization": f"Bearer {registry.token}"})
        assert status == 201, body
        yield registry


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
