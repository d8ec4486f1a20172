"""Every URL the enforcement app adds is declared in access.py, and each role gets the declared status."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from iotmark.registry.enforcement.access import ACCESS

# Values for path parameters that name no object (access.py declares statuses for those).
MISSING = {"case_id": "987654", "incident_id": "INC-20260101-abcdef", "org_id": "987654", "product_id": "987654"}
POST_ONLY = {"enforcement-case-notify", "enforcement-case-respond", "enforcement-case-outcome",
             "enforcement-case-close", "enforcement-incident-attribute", "enforcement-incident-unattribute",
             "enforcement-api-case-open", "enforcement-api-case-notify", "enforcement-api-case-respond",
             "enforcement-api-case-outcome", "enforcement-api-case-close", "enforcement-api-incident-import",
             "enforcement-api-incident-attribute"}


def _patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name and entry.name.startswith("enforcement-"):
            yield entry.name, prefix + str(entry.pattern)


def _path(route: str) -> str:
    import re

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: MISSING[m.group(1)], route.lstrip("^").rstrip("$"))


def test_every_enforcement_url_name_is_declared():
    assert {name for name, _ in _patterns()} == set(ACCESS)


@pytest.fixture
def people(regulator, lab, other_vendor, admin):
    return {"vendor": other_vendor, "lab": lab, "regulator": regulator, "admin": admin}


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
