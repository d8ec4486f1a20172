"""Fixtures of the market tests: synthetic certificates from the seed and a real uploaded one."""

from __future__ import annotations

import datetime as dt

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
