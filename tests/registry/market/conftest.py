"""Fixtures of the market tests: synthetic certificates from the seed."""

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
def vendor(uploaded, vendor):
    """The Northwind Devices member, with the sample device (their product) in the registry."""
    return vendor
