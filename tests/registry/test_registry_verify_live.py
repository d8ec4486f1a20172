"""The verify API of a served registry on PostgreSQL keeps answering when the database ends the server's kept
connections (a database restart or an administrator's pg_terminate_backend): the verify read skips Django's
per-request health check and instead retries once on a new connection, which this holds it to."""

from __future__ import annotations

import json

import psycopg
import pytest
from servers import serving, server_database


def _end_other_sessions(postgres_server, database: str) -> int:
    with psycopg.connect(host=str(postgres_server.socket_dir), port=postgres_server.port,
                         user=postgres_server.user, dbname="postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", [database]).fetchall()
    return len(rows)


def test_verify_answers_after_the_database_ended_the_servers_connections(signed, request, tmp_path, database):
    if database != "postgresql":
        pytest.skip("ends PostgreSQL sessions; the SQLite run has no server connection to lose")
    url = server_database("postgresql", request, tmp_path / "db")
    name = url.split("?")[0].rsplit("/", 1)[1]
    # One worker with one thread: every request below goes over the same kept connection.
    with serving(tmp_path / "home", url, "--workers", "1", "--threads", "1") as server:
        server.cli("trust-key", str(signed.keys / "issuer.pub"), "--org", "Example Test Lab")
        token = server.cli("createuser", "assessor", "--role", "lab", "--org", "Example Test Lab",
                           "--no-password", "--token").rsplit(": ", 1)[1].strip()
        status, body = server.post_json("/api/certificates",
                                     {"certificate": signed.valid, "assessment": signed.assessment},
                                     {"Authorization": f"Bearer {token}"})
        assert status == 201, body
        status, _ = server.get("/api/v1/certificates/iotm-never-issued/verify")  # opens and keeps the connection
        assert status == 404
        assert _end_other_sessions(request.getfixturevalue("postgres_server"), name) >= 1
        status, body = server.get(f"/api/v1/certificates/{signed.cert_id}/verify")
        assert status == 200, body
        assert json.loads(body)["status"] == "valid"
        # And again, on the connection the retry opened (its statement is prepared anew).
        assert _end_other_sessions(request.getfixturevalue("postgres_server"), name) >= 1
        status, body = server.get("/api/v1/certificates/iotm-also-never-issued/verify")
        assert status == 404 and json.loads(body)["status"] == "unknown"
        assert "Traceback" not in server.log_text()


def test_verify_prepares_its_statement_again_when_the_session_lost_it(database):
    """DISCARD ALL (or a pooler handing over another session) drops prepared statements; verify prepares anew.
    Run in a thread of its own: its connection is outside the test's transaction, as a server's is."""
    if database != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from iotmark.registry import services

    def in_a_server_thread() -> list:
        try:
            first = services.verify_status("iotm-never-issued").status  # prepares the statement
            with connection.cursor() as cursor:
                cursor.execute("DISCARD ALL")
                cursor.execute("SELECT count(*) FROM pg_prepared_statements")
                left = cursor.fetchone()[0]
            again = services.verify_status("iotm-never-issued").status
            with connection.cursor() as cursor:
                cursor.execute("SELECT name FROM pg_prepared_statements")
                prepared = [row[0] for row in cursor.fetchall()]
            return [first, left, again, prepared]
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        first, left, again, prepared = pool.submit(in_a_server_thread).result()
    assert (first, left, again, prepared) == ("unknown", 0, "unknown", ["iotmark_verify_facts"])
