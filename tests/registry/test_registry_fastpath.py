"""The WSGI wrapper that answers the verify API in front of Django's handler: for every kind of id it must give
what Django's full stack gives for the same request (status, body, headers), and it must step aside for anything
else and for deployments whose settings it does not know."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings

from iotmark.registry import services
from iotmark.registry.fastpath import VerifyFastPath, fast_path_applies


@contextmanager
def inside_test_transaction():
    """Like Django's test client: the per-request connection upkeep would close the test's open transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class Recorder:
    """Calls a WSGI application the way a server does; keeps what it answered."""

    def __init__(self, app):
        self.app = app

    def get(self, path: str, method: str = "GET", host: str = "testserver", **extra) -> tuple[int, dict, bytes]:
        # As a server gives it: the path's UTF-8 bytes, each byte one character (PEP 3333).
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path.encode().decode("latin-1"), "QUERY_STRING": "", "SERVER_NAME": "testserver",
                   "SERVER_PORT": "80", "HTTP_HOST": host, "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
                   "wsgi.errors": io.StringIO(), "SERVER_PROTOCOL": "HTTP/1.1", **extra}
        answer: dict = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers

        with inside_test_transaction():
            chunks = self.app(environ, start_response)
            try:
                body = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        headers = {name.lower(): value for name, value in answer["headers"]}
        return answer["status"], headers, body


@pytest.fixture
def apps():
    django_app = WSGIHandler()
    return Recorder(VerifyFastPath(django_app)), Recorder(django_app)


def test_the_wrapper_answers_as_djangos_full_stack_for_every_kind_of_id(apps, signed, lab):
    fast, full = apps
    assert fast.app.enabled  # the registry's own settings allow it
    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    services.upload_certificate(lab.user, signed.expired, signed.assessment, today=signed.expired_issued)
    ids = [signed.cert_id, signed.expired_id, "no-such-certificate", "x" * 500, "<script>alert(1)<script>",
           "ünïcode-id", "a%2Fb", "'; DROP TABLE registry_certificate; --"]

    def compare(cert_id: str) -> dict:
        path = f"/api/v1/certificates/{cert_id}/verify"
        status, headers, body = fast.get(path)
        services.forget_verify_answers()  # the full stack must read the database too
        expected_status, expected_headers, expected_body = full.get(path)
        assert (status, body) == (expected_status, expected_body), cert_id
        assert headers == expected_headers, cert_id
        return json.loads(body)

    assert [compare(i)["status"] for i in ids] == ["valid", "expired"] + ["unknown"] * 6
    services.revoke_certificate(lab.user, signed.cert_id, "Hard-coded password found.")
    assert compare(signed.cert_id)["revocation_reason"] == "Hard-coded password found."
    status, headers, _ = fast.get(f"/api/v1/certificates/{signed.cert_id}/verify")
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["content-type"] == "application/json" and "set-cookie" not in headers


def test_other_requests_go_to_django(apps, signed, lab):
    fast, full = apps
    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    for path, method in [(f"/api/v1/certificates/{signed.cert_id}/verify", "POST"),
                         (f"/api/v1/certificates/{signed.cert_id}/verify/", "GET"),
                         ("/api/v1/certificates//verify", "GET"),
                         ("/api/v1/certificates/<b>x</b>/verify", "GET"),
                         (f"/verify/{signed.cert_id}", "GET"),
                         ("/api/openapi.json", "GET")]:
        status, _, body = fast.get(path, method)
        expected_status, _, expected_body = full.get(path, method)
        assert status == expected_status, path
        if path != f"/verify/{signed.cert_id}":  # the page carries a fresh CSRF token each time
            assert body == expected_body, path


def test_a_host_outside_allowed_hosts_is_refused(apps, signed, lab):
    fast, _ = apps
    with override_settings(ALLOWED_HOSTS=["registry.example"]):
        status, _, body = fast.get("/api/v1/certificates/anything/verify", host="evil.example")
        assert status == 400 and json.loads(body) == {"detail": "bad request"}
        status, _, body = fast.get("/api/v1/certificates/anything/verify", host="registry.example")
        assert status == 404 and json.loads(body)["status"] == "unknown"


def test_https_redirect_and_hsts_are_applied_as_djangos_security_middleware_does():
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=3600):
        django_app = WSGIHandler()  # middleware reads its settings when it is built
        fast, full = Recorder(VerifyFastPath(django_app)), Recorder(django_app)
        path = "/api/v1/certificates/anything/verify"
        assert fast.get(path)[:2] == full.get(path)[:2]
        assert fast.get(path)[0] == 301 and fast.get(path)[1]["location"].startswith("https://")
        secure = fast.get(path, **{"wsgi.url_scheme": "https", "SERVER_PORT": "443"})
        assert secure[0] == 404 and secure[1]["strict-transport-security"] == "max-age=3600"


def test_unknown_middleware_or_settings_turn_the_wrapper_off():
    assert fast_path_applies()
    from django.conf import settings

    with override_settings(MIDDLEWARE=["django.middleware.gzip.GZipMiddleware", *settings.MIDDLEWARE]):
        assert not fast_path_applies()
        assert not VerifyFastPath(WSGIHandler()).enabled
    with override_settings(PREPEND_WWW=True):
        assert not fast_path_applies()


def test_the_registrys_wsgi_application_is_the_wrapper():
    from iotmark.registry.wsgi import application

    assert isinstance(application, VerifyFastPath) and application.enabled
