"""Property-based tests of the whole JSON API from its own OpenAPI schema (schemathesis): every operation, called
anonymously and with a lab assessor's token, with generated valid and invalid inputs, must never answer 5xx and
must answer with a status, content type and body the schema declares.

The app (the registry's own WSGI application, verify fast path included) runs in-process inside each test's
rolled-back transaction, so the fuzzing runs on SQLite and PostgreSQL like the other registry tests; examples per
operation are few to keep the file fast. The examples are the same on every run (derandomized), so CI is
repeatable; set IOTMARK_FUZZ_EXPLORE=1 (and IOTMARK_FUZZ_EXAMPLES=N) to search new ones, which is how a NUL
character in /api/v1/compare was found."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from iotmark.registry.fastpath import VerifyFastPath

EXPLORE = bool(os.environ.get("IOTMARK_FUZZ_EXPLORE"))
EXAMPLES_PER_OPERATION = int(os.environ.get("IOTMARK_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, content_type_conformance, status_code_conformance, response_schema_conformance]


def in_test_transaction(app):
    """The WSGI app with Django's end-of-request connection closing off (as django.test.Client does), so each
    request runs inside the test's open transaction instead of closing its connection."""

    def wsgi(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                getattr(result, "close", lambda: None)()  # optional in WSGI (PEP 3333)
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return wsgi


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", in_test_transaction(VerifyFastPath(WSGIHandler())))


@pytest.fixture(params=["anonymous", "lab"])
def caller(request) -> dict[str, str]:
    """Request headers of an anonymous caller or of a lab assessor with a valid API token."""
    if request.param == "anonymous":
        return {}
    lab = request.getfixturevalue("lab")
    return {"Authorization": f"Bearer {lab.token}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=not EXPLORE)
def test_api_operation_never_fails_and_matches_its_schema(case, caller):
    case.call_and_validate(headers=caller, checks=CHECKS)


def _declared_statuses(operation: str) -> dict[str, object]:
    method, path = operation.split(" ", 1)
    return schema.raw_schema["paths"][path][method.lower()]["responses"]


def test_a_body_that_does_not_validate_gets_one_line_naming_the_field(client, lab):
    """This test once found django-ninja's default 422 (a list of pydantic errors) where every operation
    declares a string `detail`."""
    response = client.post("/api/certificates", "{}", content_type="application/json", **lab.headers)
    assert response.status_code == 422
    assert response.json()["detail"] == "invalid request: certificate: Field required; assessment: Field required"


def test_a_query_value_of_the_wrong_type_answers_a_declared_status(client):
    response = client.get("/api/v1/records", {"page_size": "null"})
    assert response.status_code == 422 and str(response.status_code) in _declared_statuses("GET /api/v1/records")
    assert response.json()["detail"].startswith("invalid request: page_size: ")
