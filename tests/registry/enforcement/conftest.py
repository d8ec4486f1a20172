"""Enforcement fixtures: a registered certificate of the sample device (Northwind Devices SmartPlug P1), a
regulator, a member of that vendor and a member of another vendor (each with an API token), and incident files
written by mitigate's own incident functions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Person:
    user: object
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def _person(username: str, role: str, org: str | None) -> Person:
    from iotmark.registry import services

    user = services.create_user(username, None, role, org)  # token and force_login only: no password hashing
    return Person(user, services.issue_token(user, "tests"))


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """The parent's `lab` fixture sets a password; a fast hasher keeps each test's set-up short."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def certificate(signed, lab):
    """The sample device's certificate, uploaded by its lab; its product and vendor now exist."""
    from iotmark.registry import services

    record, _ = services.upload_certificate(lab.user, signed.valid, signed.assessment)
    return record


@pytest.fixture
def product(certificate):
    return certificate.firmware.product


@pytest.fixture
def other_product():
    """A product of another vendor, with no certificate."""
    from iotmark.registry.models import Organisation, Product

    vendor = Organisation.objects.create(name="Southwind Gadgets", kind="vendor")
    return Product.objects.create(vendor=vendor, model="Cam C2", device_class="consumer-low")


@pytest.fixture
def regulator() -> Person:
    return _person("inspector", "regulator", "Market Surveillance Authority")


@pytest.fixture
def vendor(certificate) -> Person:
    return _person("northwind-psirt", "vendor", "Northwind Devices")


@pytest.fixture
def other_vendor(other_product) -> Person:
    return _person("southwind-psirt", "vendor", "Southwind Gadgets")


@pytest.fixture
def admin() -> Person:
    return _person("root", "admin", None)


@pytest.fixture
def failed_provision(certificate) -> str:
    """A provision that FAILs in the sample device's stored assessment."""
    from iotmark.registry.enforcement.grounds import failed_provisions

    failed = failed_provisions(certificate)
    assert failed, "the sample device is expected to fail at least one provision"
    return failed[0]


def write_incident(folder: Path, playbook: str = "botnet-enlisted", title: str = "Plugs flooding a game server") -> Path:
    from iotmark.mitigate.incidents import IncidentStore, open_incident

    incident = open_incident(playbook, title, now=dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone.utc))
    return IncidentStore(folder).save(incident)


@pytest.fixture
def incident_file(tmp_path) -> Path:
    return write_incident(tmp_path / "incidents")
