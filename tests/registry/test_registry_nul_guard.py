"""A NUL character in any text a request carries is a 400 with one line, on pages and API operations alike, and
nothing is stored (PostgreSQL refuses U+0000 in text: schemathesis found /api/v1/compare answering 500)."""

from __future__ import annotations

import json

from iotmark.registry.models import Certificate
from iotmark.registry.nul_guard import MESSAGE


def test_nul_in_queries_paths_forms_and_json_bodies_is_refused(client, lab, signed):
    for path in ["/api/v1/compare?c=1&c=x%00y", "/api/v1/products?q=cam%00era",
                 "/api/v1/certificates/abc%00def/verify", "/api/certificates/abc%00", "/api/v1/products?%00=1"]:
        response = client.get(path)
        assert response.status_code == 400 and response.json() == {"detail": MESSAGE}, path
    for path in ["/products?q=cam%00era", "/compare?c=1&c=2%00", "/verify/abc%00def"]:
        response = client.get(path)
        assert response.status_code == 400 and response.content.decode().strip() == MESSAGE, path
    body = json.dumps({"certificate": signed.valid, "assessment": signed.assessment, "bundle": "a\u0000b"})
    assert "\\u0000" in body
    response = client.post("/api/certificates", body, content_type="application/json", **lab.headers)
    assert response.status_code == 400 and response.json() == {"detail": MESSAGE}
    response = client.post("/login", {"username": "root\x00", "password": "x" * 12})
    assert response.status_code == 400
    assert not Certificate.objects.exists()


def test_ordinary_requests_pass(client, lab, signed):
    assert client.get("/api/v1/products?q=camera").status_code == 200
    assert client.get("/api/v1/certificates/no-such-id/verify").status_code == 404
    body = json.dumps({"certificate": signed.valid, "assessment": signed.assessment})
    assert client.post("/api/certificates", body, content_type="application/json", **lab.headers).status_code == 201
