"""Every URL the programme_site app adds is declared in access.py, and each role gets the declared status."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from iotmark.registry.programme_site.access import ACCESS


def _patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name and entry.name.startswith("programme-"):
            yield entry.name, "/" + (prefix + str(entry.pattern)).lstrip("^").rstrip("$")


def test_every_programme_url_name_is_declared():
    assert {name for name, _ in _patterns()} == set(ACCESS)


@pytest.fixture
def people(vendor, assessor, regulator, admin):
    return {"vendor": vendor, "lab": assessor, "regulator": regulator, "admin": admin}


@pytest.mark.parametrize("role", ["anonymous", "vendor", "lab", "regulator", "admin"])
def test_each_role_gets_the_declared_status(people, role):
    seen = []
    for name, path in sorted(_patterns()):
        client = Client()
        person = people.get(role)
        headers = {}
        if person is not None:
            client.force_login(person.user)
            headers = person.headers if "-api-" in name else {}
        seen.append((name, client.get(path, **headers).status_code))
    assert seen == [(name, ACCESS[name][role]) for name, _ in sorted(_patterns())]
