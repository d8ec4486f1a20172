"""`iotmark serve` as a real process: gunicorn workers after one migration, waitress by default, clean SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path


def _lab_token(server) -> str:
    """A lab assessor with an API token and the test lab's key trusted, made with the registry CLI."""
    out = server.cli("createuser", "assessor", "--role", "lab", "--org", "Example Test Lab", "--no-password",
                     "--token")
    return out.rsplit(":", 1)[1].strip()


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def test_gunicorn_workers_serve_the_schema_and_verify_pages_then_stop_on_sigterm(launch, fresh_database, signed):
    # No --database on SQLite: the default file in the scratch IOTMARK_HOME, as a first-time user runs it.
    default = None if fresh_database.startswith("sqlite") else fresh_database
    server = launch("--workers", "2", "--threads", "4", database_url=default)
    workers = server.children()
    assert len(workers) == 2

    status, body = server.get("/api/openapi.json")
    assert status == 200
    assert "/api/v1/certificates/{cert_id}/verify" in json.loads(body)["paths"]

    # The CLI writes to the tables the server migrated before forking its workers.
    token = _lab_token(server)
    server.cli("trust-key", str(signed.keys / "issuer.pub"), "--org", "Example Test Lab")
    status, body = server.post_json("/api/certificates", {"certificate": signed.valid, "assessment": signed.assessment},
                                    {"Authorization": f"Bearer {token}"})
    assert status == 201, body

    status, body = server.get(f"/api/v1/certificates/{signed.cert_id}/verify")
    assert (status, json.loads(body)["status"]) == (200, "valid")
    status, page = server.get(f"/verify/{signed.cert_id}")
    assert status == 200 and b"Valid certificate" in page
    assert server.get("/api/v1/certificates/iotm-00000000-0000000000000000/verify")[0] == 404

    assert server.stop() == 0
    assert not _port_open(server.url)
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    assert "Traceback" not in server.log_text()


def test_an_upload_in_flight_when_sigterm_arrives_is_finished_and_stored(launch, fresh_database, signed,
                                                                         stored_certificate_ids):
    server = launch("--workers", "2", database_url=fresh_database)
    token = _lab_token(server)
    server.cli("trust-key", str(signed.keys / "issuer.pub"), "--org", "Example Test Lab")
    body = json.dumps({"certificate": signed.valid, "assessment": signed.assessment}).encode()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(f"POST /api/certificates HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                     .encode() + body[:1000])
        time.sleep(0.5)  # the worker is now reading the body
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.sendall(body[1000:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert server.stop() == 0

    assert stored_certificate_ids(fresh_database) == [signed.cert_id]


def test_default_single_process_server_stops_on_sigterm(launch, fresh_database):
    server = launch(database_url=fresh_database)
    assert server.children() == []
    assert server.get("/api/openapi.json")[0] == 200
    assert server.stop() == 0
    assert not _port_open(server.url)



def test_a_taken_port_is_one_error_line_before_any_worker_starts(launch_fails, fresh_database):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = launch_fails("--workers", "2", "--port", str(port), "--database", fresh_database)
    assert code == 2
    assert err.strip().splitlines()[-1] == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert "Traceback" not in err


def test_an_unreachable_database_is_one_error_line(launch_fails):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, err = launch_fails("--workers", "2", "--database", f"postgresql://nobody@127.0.0.1:{port}/registry")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: registry database: connection failed")
    assert "Traceback" not in err
