"""Real registry servers for the tests: a free loopback port, `iotmark serve` started in its own process with a
scratch IOTMARK_HOME, waited for until it answers (its log shown if it never does), and always stopped.

Imported by the registry test folders as `from servers import ...` (pytest puts tests/registry on sys.path when
it loads the folder's conftest)."""

from __future__ import annotations

import contextlib
import itertools
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
from typing import Iterator

import pytest

# The console script installed next to this interpreter (the package has no __main__).
IOTMARK = [str(Path(sys.executable).with_name("iotmark"))]
READY_SECONDS = 60
STOP_SECONDS = 40
TEST_SECRET_KEY = "live-test-secret-key-not-for-production-use-0123456789"
_database_numbers = itertools.count(1)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 30) -> tuple[int, bytes]:
    """(status, body) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def server_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its IOTMARK_/DJANGO_ settings, with a scratch home and fixed secret key,
    then `extra` on top (e.g. IOTMARK_DATABASE_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IOTMARK_", "DJANGO_"))}
    env.update(IOTMARK_HOME=str(home), IOTMARK_SECRET_KEY=TEST_SECRET_KEY)
    env.update(extra or {})
    return env


def server_database(engine: str, request, folder: Path) -> str:
    """A new, empty database URL of this engine for a server process: a SQLite file in the folder, or a new
    database on the session's PostgreSQL server."""
    if engine != "postgresql":
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'registry.sqlite3'}"
    return request.getfixturevalue("postgres_server").create_database(
        f"iotmark_live_{os.getpid()}_{next(_database_numbers)}")


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

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run `iotmark registry ...` against this server's database, whatever its exit status."""
        extra = ["--database", self.database_url] if self.database_url else []
        return subprocess.run([*IOTMARK, "registry", *args, *extra], env=self.env, capture_output=True, text=True,
                              timeout=120)

    def cli(self, *args: str) -> str:
        """Run an `iotmark registry ...` command that must succeed; its standard output."""
        done = self.run_cli(*args)
        assert done.returncode == 0, f"iotmark registry {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    def children(self) -> list[int]:
        from iotmark.registry.balance import worker_pids

        return worker_pids(self.process.pid)

    def stop(self) -> int:
        """SIGTERM, then the exit status (killed, and the test failed with the log, if it does not stop in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"server did not stop within {STOP_SECONDS} s of SIGTERM:\n{self.log_text()}")
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_server(home: Path, database_url: str | None = None, *options: str, env: dict[str, str] | None = None,
                 ready_path: str = "/api/openapi.json") -> LiveServer:
    """Start `iotmark serve --database URL *options` on a free port with `server_env(home, env)` and wait until
    `ready_path` answers 200; the test fails with the server's log if it exits or does not answer in time."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = home / "server.log"
    environment = server_env(home, env)
    command = [*IOTMARK, "serve", "--host", "127.0.0.1", "--port", str(port), *options]
    if database_url:
        command += ["--database", database_url]
    with log.open("wb") as out:  # a file, not a pipe: a chatty server can never block on a full pipe
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(process, f"http://127.0.0.1:{port}", database_url, home, log, environment)
    try:
        _wait_until_ready(server, ready_path)
    except BaseException:
        server.kill()
        raise
    return server


def _wait_until_ready(server: LiveServer, ready_path: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"iotmark serve exited with {server.process.returncode}:\n{server.log_text()}")
        try:
            if http_request(server.url + ready_path, timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"iotmark serve did not answer within {READY_SECONDS} s:\n{server.log_text()}")


@contextlib.contextmanager
def serving(home: Path, database_url: str | None = None, *options: str, env: dict[str, str] | None = None,
            ready_path: str = "/api/openapi.json") -> Iterator[LiveServer]:
    """`start_server` for the length of a `with` block; the server is stopped however the block ends."""
    server = start_server(home, database_url, *options, env=env, ready_path=ready_path)
    try:
        yield server
    finally:
        server.stop()
