"""Fixtures of the market tests: synthetic certificates from the seed and a real uploaded one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest


@pytest.fixture
def seeded():
    """60 synthetic certificates across 5 vendors (seed 7), dated from a fixed day."""
    from iotmark.registry.market.seed import seed_certificates

    seed_certificates(60, vendors=5, rng_seed=7, today=dt.date.today())
    return 60


@pytest.fixture
def uploaded(signed, lab):
    """The bundled sample device's valid certificate, uploaded by the lab through the core service."""
    from iotmark.registry import services

    record, _ = services.upload_certificate(lab.user, signed.valid, signed.assessment)
    return record


@dataclass
class Person:
    user: object
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def _person(username: str, role: str, org: str | None) -> Person:
    from iotmark.registry import services

    user = services.create_user(username, "a long test password", role, org)
    return Person(user, services.issue_token(user, "tests"))


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Users made here get a password; a fast hasher keeps each test's set-up short."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def vendor(uploaded) -> Person:
    """A member of Northwind Devices, the maker of the uploaded sample device."""
    return _person("northwind", "vendor", "Northwind Devices")


@pytest.fixture
def other_vendor() -> Person:
    return _person("rival", "vendor", "Rival Gadgets")


@pytest.fixture
def regulator() -> Person:
    return _person("inspector", "regulator", "Market Surveillance Authority")


@pytest.fixture
def admin() -> Person:
    return _person("root", "admin", None)


@pytest.fixture
def lab_person(lab) -> Person:
    return Person(lab.user, lab.token)
