"""Fixtures of the core registry tests: users of every role and raw SQL on the audit table."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

PASSWORD = "a long test password"


@pytest.fixture
def raw_sql():
    """raw_sql(sql, params): run SQL inside a savepoint, so a refusal by the database leaves the test's
    transaction usable."""

    def run(sql: str, params: list | None = None) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params or [])

    return run


@pytest.fixture
def uploaded(signed, lab):
    """The valid sample certificate uploaded by the lab fixture's assessor."""
    from iotmark.registry import services

    record, _ = services.upload_certificate(lab.user, signed.valid, signed.assessment)
    return record


@pytest.fixture
def make_user():
    """make_user(name, role, org) -> a user with a password login and that registry role."""
    from iotmark.registry import services

    def make(name: str, role: str, organisation: str | None = None):
        return services.create_user(name, PASSWORD, role, organisation)

    return make


@pytest.fixture
def other_lab(signed):
    """A second lab ('Other Test Lab') with its own trusted key and assessor."""
    from iotmark.registry import services

    services.trust_key((signed.other_keys / "issuer.pub").read_bytes(), "Other Test Lab")
    return services.create_user("other-assessor", PASSWORD, "lab", "Other Test Lab")


@pytest.fixture
def csrf_client():
    """A browser-like client: CSRF tokens are checked as in production."""
    from django.test import Client

    return Client(enforce_csrf_checks=True)


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Production hashing is deliberately slow; these tests make many users."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield
