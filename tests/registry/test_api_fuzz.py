"""Property-based tests of the whole JSON API from its own OpenAPI schema (schemathesis): every operation, called
anonymously and with a lab assessor's token, with generated valid and invalid inputs, must never answer 5xx and
must answer with a status, content type and body the schema declares.

The app runs in-process inside each test's rolled-back transaction, so the fuzzing runs on SQLite and PostgreSQL
like the other registry tests; examples per operation are few to keep the file fast."""

from __future__ import annotations

import json

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

EXAMPLES_PER_OPERATION = 10
# A bug this test found, reported to the owner of the shared NinjaAPI (registry core). The fuzz test lets only
# answers of exactly this shape through its status and schema checks (they are 4xx, so the no-5xx check still
# covers them); the test_known_bug_* tests below reproduce it as strict expected failures, so fixing it turns
# them into errors that say to delete this exemption.
NINJA_422_BUG = ("registry api: a request that fails validation gets django-ninja's default 422 whose `detail` is "
                 "a list of pydantic errors, while operations declare 422 as ErrorOut with a string `detail` or do "
                 "not declare 422 at all (one ValidationError handler on the shared NinjaAPI would fix all of them)")


def _is_ninja_validation_answer(response) -> bool:
    if response.status_code != 422:
        return False
    try:
        detail = json.loads(response.content).get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, list)


def _unless_known_bug(check):
    def checked(ctx, response, case):
        if _is_ninja_validation_answer(response):
            return None
        return check(ctx, response, case)

    checked.__name__ = check.__name__
    return checked


CHECKS = [not_a_server_error, content_type_conformance, _unless_known_bug(status_code_conformance),
          _unless_known_bug(response_schema_conformance)]


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
                result.close()
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return wsgi


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", in_test_transaction(WSGIHandler()))


@pytest.fixture(params=["anonymous", "lab"])
def caller(request) -> dict[str, str]:
    """Request headers of an anonymous caller or of a lab assessor with a valid API token."""
    if request.param == "anonymous":
        return {}
    lab = request.getfixturevalue("lab")
    return {"Authorization": f"Bearer {lab.token}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_operation_never_fails_and_matches_its_schema(case, caller):
    case.call_and_validate(headers=caller, checks=CHECKS)


def _declared_statuses(operation: str) -> dict[str, object]:
    method, path = operation.split(" ", 1)
    return schema.raw_schema["paths"][path][method.lower()]["responses"]


@pytest.mark.xfail(strict=True, reason=NINJA_422_BUG)
def test_known_bug_upload_validation_error_matches_declared_error_body(client, lab):
    response = client.post("/api/certificates", "{}", content_type="application/json", **lab.headers)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


@pytest.mark.xfail(strict=True, reason=NINJA_422_BUG)
def test_known_bug_records_bad_page_size_answers_a_declared_status(client):
    response = client.get("/api/v1/records", {"page_size": "null"})
    assert str(response.status_code) in _declared_statuses("GET /api/v1/records")
