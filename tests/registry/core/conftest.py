"""Fixtures of the core registry tests: a second lab, a CSRF-checking client and raw SQL on the audit table."""

from __future__ import annotations

import pytest
from django.db import connection, transaction


@pytest.fixture
def raw_sql():
    """raw_sql(sql, params): run SQL inside a savepoint, so a refusal by the database leaves the test's
    transaction usable."""

    def run(sql: str, params: list | None = None) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params or [])

    return run


@pytest.fixture
def other_lab(signed):
    """A second lab ('Other Test Lab') with its own trusted key and assessor."""
    from iotmark.registry import services

    services.trust_key((signed.other_keys / "issuer.pub").read_bytes(), "Other Test Lab")
    return services.create_user("other-assessor", None, "lab", "Other Test Lab")


@pytest.fixture
def csrf_client():
    """A browser-like client: CSRF tokens are checked as in production."""
    from django.test import Client

    return Client(enforce_csrf_checks=True)

