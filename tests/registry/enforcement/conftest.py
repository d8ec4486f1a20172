"""Enforcement fixtures: the sample device's certificate (Northwind Devices SmartPlug P1) under the name the
tests use, the products of the parent's vendor and other_vendor, and incident files written by mitigate's own
incident functions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest


@pytest.fixture
def certificate(uploaded):
    """The enforcement tests' name for the uploaded sample certificate (grounds name a certificate)."""
    return uploaded


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
def vendor(certificate, vendor):
    """The Northwind Devices member, with their certified product in the registry."""
    return vendor


@pytest.fixture
def other_vendor(other_product, other_vendor):
    """The Southwind Gadgets member, with their uncertified product in the registry."""
    return other_vendor


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
