"""Every URL the market app adds is declared in access.py, and each role gets the declared status."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from iotmark.registry.market.access import ACCESS, POST_ONLY

# Values for path parameters that name no object (access.py declares statuses for those).
MISSING = {"vendor_id": "987654", "product_id": "987654", "report_id": "987654"}


def _patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name and entry.name.startswith("market-"):
            yield entry.name, prefix + str(entry.pattern)


def _path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: MISSING[m.group(1)], route.lstrip("^").rstrip("$"))


def test_every_market_url_name_is_declared():
    assert {name for name, _ in _patterns()} == set(ACCESS)


@pytest.fixture
def people(vendor, lab_person, regulator, admin):
    return {"vendor": vendor, "lab": lab_person, "regulator": regulator, "admin": admin}


@pytest.mark.parametrize("role", ["anonymous", "vendor", "lab", "regulator", "admin"])
def test_each_role_gets_the_declared_status(people, role):
    seen = []
    for name, route in sorted(_patterns()):
        client = Client()
        headers = {}
        person = people.get(role)
        if person is not None:
            client.force_login(person.user)
            headers = person.headers if "-api-" in name else {}
        path = _path(route)
        response = client.post(path, **headers) if name in POST_ONLY else client.get(path, **headers)
        seen.append((name, response.status_code))
    wrong = [(name, got, ACCESS[name][role]) for name, got in seen if got != ACCESS[name][role]]
    assert not wrong, f"(url name, got, declared): {wrong}"
