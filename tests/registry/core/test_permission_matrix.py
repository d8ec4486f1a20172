"""Every page and API operation of the registry has a declared status per role (in its app's access.py), and
each role gets exactly that status. Ids in URLs name objects of another organisation than the requester's where
the parameter names a core object (a certificate issued by another lab); other parameters name nothing."""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

from iotmark.registry import services

ROLES = ("anonymous", "vendor", "lab", "regulator", "admin")
API_NAMESPACE = "registry-api"
MISSING_ID = "999999"  # names no object; digits so that int and str parameters both accept it


@dataclass(frozen=True)
class Endpoint:
    name: str  # "name" or "namespace:name"
    params: tuple[str, ...]
    namespace: str = ""
    method: str = "GET"  # for API operations; pages are tried with GET, then POST if GET is not allowed
    api_path: str = ""  # OpenAPI path template, for API operations

    @property
    def key(self) -> str:
        return f"{self.method} {self.api_path}" if self.api_path else self.name


def declarations() -> tuple[dict[str, dict[str, int]], dict[str, dict[str, dict[str, int]]]]:
    """ACCESS, and NAMESPACES / NAMESPACE_OBJECTS (keyed "namespace" and "namespace/objects"), merged from the
    `access` module of every installed registry app."""
    access: dict[str, dict[str, int]] = {}
    namespaces: dict[str, dict[str, int]] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("iotmark.registry"):
            continue
        try:
            module = importlib.import_module(f"{config.name}.access")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.access":
                raise
            continue
        for name in getattr(module, "ACCESS", {}):
            assert name not in access, f"{name} is declared by two apps"
        access.update(getattr(module, "ACCESS", {}))
        namespaces.update(getattr(module, "NAMESPACES", {}))
        namespaces.update({f"{ns}/objects": roles for ns, roles in getattr(module, "NAMESPACE_OBJECTS", {}).items()})
    return access, namespaces


def _params(pattern) -> list[str]:
    if isinstance(pattern.pattern, RoutePattern):
        return list(pattern.pattern.converters)
    return list(pattern.pattern.regex.groupindex)


def walk(patterns, namespace: str | None = None, params: tuple[str, ...] = ()) -> list[Endpoint]:
    """Every named URL pattern under the root URLconf, with the parameters of it and its parents."""
    found = []
    for pattern in patterns:
        here = params + tuple(_params(pattern))
        if isinstance(pattern, URLResolver):
            found += walk(pattern.url_patterns, pattern.namespace or namespace, here)
        elif isinstance(pattern, URLPattern):
            # Unnamed patterns (the admin's redirects and catch-all) can only be declared by their namespace.
            name = pattern.name or f"<unnamed {pattern.pattern}>"
            found.append(Endpoint(f"{namespace}:{name}" if namespace else name, here, namespace or ""))
    return found


def api_operations() -> list[Endpoint]:
    """The ninja API's operations from its OpenAPI schema (paths and methods), named by their URL names."""
    from iotmark.registry.api import api

    url_name_of = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                name = operation.url_name or api.get_operation_url_name(operation, router=router)
                url_name_of[api.get_openapi_operation_id(operation)] = name
    schema = api.get_openapi_schema()
    found = []
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            name = url_name_of[spec["operationId"]]
            found.append(Endpoint(f"{API_NAMESPACE}:{name}", tuple(re.findall(r"{(\w+)}", path)), API_NAMESPACE,
                                  method.upper(), path))
    return found


def endpoints() -> list[Endpoint]:
    pages = [e for e in walk(get_resolver().url_patterns) if not e.name.startswith(API_NAMESPACE + ":")]
    return pages + api_operations()


def declared(endpoint: Endpoint, access, namespaces) -> dict[str, int] | None:
    if endpoint.namespace == API_NAMESPACE:  # API operations are declared by their URL names alone
        return access.get(endpoint.name.split(":", 1)[1])
    if endpoint.name in access:
        return access[endpoint.name]
    # A namespace-wide rule; pages naming one object (a missing one, here) may have their own.
    has_object = any(p != "app_label" for p in endpoint.params)
    return (has_object and namespaces.get(f"{endpoint.namespace}/objects")) or namespaces.get(endpoint.namespace)


def test_every_page_and_api_operation_has_a_declaration(database):
    access, namespaces = declarations()
    missing = [e.key for e in endpoints() if declared(e, access, namespaces) is None]
    assert missing == [], "declare these in the app's access.py: " + ", ".join(missing)


def test_every_declaration_names_all_roles(database):
    access, namespaces = declarations()
    incomplete = [name for name, roles in {**access, **namespaces}.items() if set(roles) != set(ROLES)]
    assert incomplete == []


def test_the_walk_finds_the_core_pages_and_api_operations(database):
    keys = {e.key for e in endpoints()}
    assert {"verify", "certificate-upload", "account-tokens", "label-svg", "admin:index",
            "POST /api/certificates", "GET /api/certificates/{cert_id}"} <= keys


@pytest.fixture
def world(signed, lab, other_lab, make_person, regulator, admin):
    """One user per role and a certificate issued by another lab than the requesting lab's, for another vendor
    than the requesting vendor."""
    record, _ = services.upload_certificate(other_lab, signed.other_key, signed.assessment)
    users = {"vendor": make_person("vendor-member", "vendor", "Acme Cameras").user, "lab": lab.user,
             "regulator": regulator.user, "admin": admin.user}
    return {"users": users, "cert_id": record.cert_id}


def _value(param: str, world) -> str:
    if param == "cert_id":
        return world["cert_id"]
    if param == "app_label":
        return "registry"
    return MISSING_ID


def _request(endpoint: Endpoint, role: str, world) -> int:
    client = Client()
    user = world["users"].get(role)
    values = {p: _value(p, world) for p in endpoint.params}
    if endpoint.api_path:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {services.issue_token(user)}"} if user else {}
        url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], endpoint.api_path)
        if endpoint.method == "GET":
            return client.get(url, **headers).status_code
        return client.generic(endpoint.method, url, b"", content_type="application/json", **headers).status_code
    if user is not None:
        client.force_login(user)
    url = reverse(endpoint.name, kwargs=values)
    status = client.get(url).status_code
    if status == 405:  # a POST-only page: its declaration is for a POST with an empty body
        status = client.post(url).status_code
    return status


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_declared_status_everywhere(role, world):
    access, namespaces = declarations()
    wrong = []
    for endpoint in endpoints():
        expected = declared(endpoint, access, namespaces)
        if expected is None or "<unnamed " in endpoint.name:
            continue  # undeclared: reported by the test above; unnamed: cannot be reversed
        got = _request(endpoint, role, world)
        if got != expected[role]:
            wrong.append(f"{endpoint.key}: declared {expected[role]}, got {got}")
    assert wrong == [], f"{role}:\n" + "\n".join(wrong)


def test_a_lab_cannot_revoke_another_labs_certificate_through_the_api(world, signed):
    token = services.issue_token(world["users"]["lab"])
    response = Client().post(f"/api/certificates/{world['cert_id']}/revoke", data=json.dumps({"reason": "not ours"}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert services.certificate_status(world["cert_id"]).status == "valid"
