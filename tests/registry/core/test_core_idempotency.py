"""Idempotency-Key on uploads: a retry gets the first answer, a reused key with another body a 422, and
concurrent uploads of one certificate leave exactly one row."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from iotmark.registry import services
from iotmark.registry.models import Certificate, IdempotentRequest


def upload(client, signed, token: str, key: str | None, certificate: str | None = None):
    body = json.dumps({"certificate": certificate or signed.valid, "assessment": signed.assessment})
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post("/api/certificates", data=body, content_type="application/json", **headers)


def test_a_retry_with_the_same_key_gets_the_first_answer(client, signed, lab):
    first = upload(client, signed, lab.token, "upload-2026-001")
    assert first.status_code == 201
    again = upload(client, signed, lab.token, "upload-2026-001")
    assert (again.status_code, again.json()) == (201, first.json())
    assert Certificate.objects.count() == 1
    stored = IdempotentRequest.objects.get()
    assert (stored.key, stored.user, stored.status) == ("upload-2026-001", lab.user, 201)


def test_a_new_key_for_a_stored_certificate_answers_200_like_without_a_key(client, signed, lab):
    assert upload(client, signed, lab.token, None).status_code == 201
    assert upload(client, signed, lab.token, "second-try").status_code == 200
    assert upload(client, signed, lab.token, "second-try").status_code == 200


def test_the_same_key_with_another_body_is_refused(client, signed, lab):
    assert upload(client, signed, lab.token, "k1").status_code == 201
    response = upload(client, signed, lab.token, "k1", signed.expired)
    assert response.status_code == 422
    assert response.json() == {"detail": "idempotency key 'k1' was already used for a different request; use a new "
                                         "key for a new upload"}
    assert Certificate.objects.count() == 1


def test_keys_belong_to_their_user(client, signed, lab):
    other = services.create_user("assessor-2", None, "lab", "Example Test Lab")
    assert upload(client, signed, lab.token, "shared").status_code == 201
    assert upload(client, signed, services.issue_token(other), "shared").status_code == 200


def test_a_refused_upload_stores_no_answer(client, signed, lab):
    assert upload(client, signed, lab.token, "k2", signed.other_key).status_code == 422
    assert not IdempotentRequest.objects.exists()


@pytest.mark.parametrize("key", ["", "k" * 101, "bad\u0007key"], ids=["empty", "too-long", "control-char"])
def test_a_malformed_key_is_refused(client, signed, lab, key):
    response = upload(client, signed, lab.token, key)
    assert response.status_code == 400
    assert response.json()["detail"] == "the Idempotency-Key header must be 1 to 100 printable characters"
    assert not Certificate.objects.exists()


def _in_thread(work):
    """Run work() on its own database connection, committed, and return its result."""
    out: dict = {}

    def run():
        try:
            out["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in out:
        raise out["error"]
    return out.get("value")


def _wipe_committed_rows():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE registry_auditentry DISABLE TRIGGER USER")
        cursor.execute("TRUNCATE auth_user, registry_organisation, registry_auditentry CASCADE")
        cursor.execute("ALTER TABLE registry_auditentry ENABLE TRIGGER USER")


def _race(signed, token: str, key: str | None, n: int = 4) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def one(i: int) -> None:
        try:
            barrier.wait(30)
            response = upload(Client(), signed, token, key)
            results[i] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.mark.parametrize("key", ["race-1", None], ids=["same-key", "no-key"])
def test_concurrent_uploads_of_one_certificate_store_one_row(database, signed, key):
    if database != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL")

    def set_up() -> str:
        services.trust_key((signed.keys / "issuer.pub").read_bytes(), "Example Test Lab")
        user = services.create_user("racer", None, "lab", "Example Test Lab")
        return services.issue_token(user)

    token = _in_thread(set_up)
    try:
        results = _race(signed, token, key)
        rows = _in_thread(lambda: list(Certificate.objects.values_list("cert_id", flat=True)))
        assert rows == [signed.cert_id]
        statuses = sorted(status for status, _ in results)
        if key is not None:  # every request gets the first answer
            assert statuses == [201] * 4 and all(body == results[0][1] for _, body in results)
        else:  # one creates; the others find it stored, or lose the insert race and are told so
            assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}
        assert _in_thread(lambda: services.audit.verify().ok)
    finally:
        _in_thread(_wipe_committed_rows)
