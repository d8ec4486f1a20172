"""Public verification, the label's QR target: anyone can see whether a certificate is valid, expired, revoked
or unknown, on the HTML page and in the JSON API."""

from __future__ import annotations

import json

import pytest

from iotmark.registry import services
from iotmark.registry.models import Revocation

SUPPORT = "2030-06-30"


@pytest.fixture
def stored(signed, lab):
    """The valid and the expired sample certificates, both registered."""
    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    services.upload_certificate(lab.user, signed.expired, signed.assessment, today=signed.expired_issued)
    return signed


def test_api_reports_a_valid_certificate(client, stored):
    response = client.get(f"/api/certificates/{stored.cert_id}")
    assert response.status_code == 200
    body = response.json()
    valid = json.loads(stored.valid)
    assert body["status"] == "valid"
    assert (body["level"], body["level_name"], body["device_class"]) == (1, "Baseline", "consumer-low")
    assert (body["vendor"], body["model"], body["firmware_version"]) == ("Northwind Devices", "SmartPlug P1", "1.4.2")
    assert (body["issued"], body["expires"], body["support_until"]) == (valid["issued"], valid["expires"], SUPPORT)
    assert body["known_issues"] == valid["summary"]
    assert (body["revoked_on"], body["revocation_reason"]) == (None, None)
    assert body["summary"] == (
        "The Northwind Devices SmartPlug P1 (firmware 1.4.2) was tested by iotmark demo lab against "
        f"{valid['standard']} and reached level 1 (Baseline). The certificate is valid until {valid['expires']}. "
        f"The maker has promised security updates until {SUPPORT}.")


def test_the_contract_path_gives_the_same_answer(client, stored):
    first = client.get(f"/api/certificates/{stored.cert_id}").json()
    second = client.get(f"/api/v1/certificates/{stored.cert_id}/verify").json()
    assert first == second


def test_page_shows_a_valid_certificate(client, stored):
    response = client.get(f"/verify/{stored.cert_id}")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="badge valid">VALID</span>' in html
    assert "<dd>Northwind Devices SmartPlug P1, firmware 1.4.2</dd>" in html
    assert f"<dd>{SUPPORT}</dd>" in html
    assert "<li>Telnet service reachable</li>" in html


def test_api_and_page_report_an_expired_certificate(client, stored):
    expires = json.loads(stored.expired)["expires"]
    body = client.get(f"/api/certificates/{stored.expired_id}").json()
    assert (body["status"], body["expires"]) == ("expired", expires)
    assert body["summary"] == (f"The certificate for the Northwind Devices SmartPlug P1 (firmware 1.4.2) expired on "
                               f"{expires}. The device may no longer get security updates; its label is out of date.")
    html = client.get(f"/verify/{stored.expired_id}").content.decode()
    assert '<span class="badge expired">EXPIRED</span>' in html


def test_api_and_page_report_a_revoked_certificate_with_its_reason(client, stored, lab):
    response = client.post(f"/api/certificates/{stored.cert_id}/revoke", content_type="application/json",
                           data=json.dumps({"reason": "Telnet found enabled in shipped units."}), **lab.headers)
    assert response.status_code == 200
    body = client.get(f"/api/certificates/{stored.cert_id}").json()
    revoked = Revocation.objects.get().date.isoformat()
    assert (body["status"], body["revoked_on"], body["revocation_reason"]) == (
        "revoked", revoked, "Telnet found enabled in shipped units.")
    assert body["summary"] == (f"The certificate for the Northwind Devices SmartPlug P1 (firmware 1.4.2) was revoked "
                               f"on {revoked}: Telnet found enabled in shipped units. Do not rely on its label.")
    html = client.get(f"/verify/{stored.cert_id}").content.decode()
    assert '<span class="badge revoked">REVOKED</span>' in html
    assert f'<dd class="revocation">{revoked}: Telnet found enabled in shipped units.</dd>' in html


def test_revoking_twice_is_a_conflict(client, stored, lab):
    url = f"/api/certificates/{stored.cert_id}/revoke"
    data = json.dumps({"reason": "key compromise"})
    assert client.post(url, data=data, content_type="application/json", **lab.headers).status_code == 200
    again = client.post(url, data=data, content_type="application/json", **lab.headers)
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"certificate {stored.cert_id} was already revoked on ")


def test_only_the_issuing_lab_can_revoke(client, stored):
    data = json.dumps({"reason": "not ours to revoke"})
    url = f"/api/certificates/{stored.cert_id}/revoke"
    assert client.post(url, data=data, content_type="application/json").status_code == 401
    for username, role, org in (("maker", "vendor", "Northwind Devices"), ("rival", "lab", "Rival Lab")):
        user = services.create_user(username, "a long test password", role, org)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {services.issue_token(user)}"}
        response = client.post(url, data=data, content_type="application/json", **auth)
        assert response.status_code == 403
    assert Revocation.objects.count() == 0


def test_api_and_page_report_an_unknown_certificate(client, stored):
    missing = "iotm-20260101-0000000000000000"
    response = client.get(f"/api/certificates/{missing}")
    assert response.status_code == 404
    body = response.json()
    assert (body["id"], body["status"], body["level"], body["vendor"]) == (missing, "unknown", None, None)
    assert body["summary"] == ("This registry has no certificate with this id. The label may be forged or copied "
                               "from another product; do not rely on it.")
    page = client.get(f"/verify/{missing}")
    assert page.status_code == 404
    assert '<span class="badge unknown">UNKNOWN</span>' in page.content.decode()


def test_a_hostile_id_is_escaped_on_the_page(client):
    page = client.get("/verify/<img src=x onerror=alert(1)>")
    html = page.content.decode()
    assert page.status_code == 404
    assert "<img" not in html
    assert "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in html


def test_an_overlong_id_is_unknown(client):
    response = client.get("/api/certificates/" + "a" * 5000)
    assert response.status_code == 404
    assert response.json()["status"] == "unknown"


def test_the_front_page_sends_a_typed_id_to_its_verify_page(client, stored):
    response = client.get("/", {"id": stored.cert_id})
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{stored.cert_id}"
    assert client.get("/").status_code == 200


def test_the_openapi_schema_lists_the_endpoints(client):
    schema = client.get("/api/openapi.json").json()
    core = {"/api/certificates": {"post"}, "/api/certificates/{cert_id}": {"get"},
            "/api/certificates/{cert_id}/revoke": {"post"}, "/api/v1/certificates/{cert_id}/verify": {"get"}}
    # the other registry apps add their own paths under /api/v1/
    assert {path: set(schema["paths"][path]) for path in core if path in schema["paths"]} == core
    assert all(path.startswith("/api/v1/") for path in set(schema["paths"]) - set(core))


def test_the_verify_apis_one_query_answer_equals_the_full_status_in_every_state(signed, lab):
    """The verify API reads its answer with one hand-written query; it must say exactly what the pages say."""
    import datetime as dt

    from iotmark.registry import services

    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    services.upload_certificate(lab.user, signed.expired, signed.assessment, today=signed.expired_issued)
    ids = [signed.cert_id, signed.expired_id, "no-such-certificate", "x" * 200]
    days = [dt.date.today(), dt.date(2000, 1, 1)]
    for cert_id in ids:
        for day in days:
            full, fast = services.certificate_status(cert_id, day), services.verify_status(cert_id, day)
            assert (fast.status, fast.summary, fast.facts) == (full.status, full.summary, full.facts)
    services.revoke_certificate(lab.user, signed.cert_id, "Hard-coded password found.")
    full, fast = services.certificate_status(signed.cert_id), services.verify_status(signed.cert_id)
    assert fast.status == "revoked" and (fast.summary, fast.facts) == (full.summary, full.facts)
    assert fast.facts.revocation_reason == "Hard-coded password found."


def test_the_verify_path_answers_exactly_as_the_documented_api_operation(client, signed, lab):
    """/api/v1/certificates/{id}/verify is served ahead of the API framework for speed; its answers must be the
    ones the OpenAPI-documented operation (/api/certificates/{id}) gives, in every state."""
    from iotmark.registry import services

    services.upload_certificate(lab.user, signed.valid, signed.assessment)

    def both(cert_id: str):
        fast, documented = client.get(f"/api/v1/certificates/{cert_id}/verify"), client.get(f"/api/certificates/{cert_id}")
        assert fast.status_code == documented.status_code and fast["Content-Type"] == "application/json"
        assert fast.json() == documented.json()
        return fast

    assert both(signed.cert_id).json()["status"] == "valid"
    assert both("no-such-certificate").status_code == 404
    services.revoke_certificate(lab.user, signed.cert_id, "Hard-coded password found.")
    assert both(signed.cert_id).json()["revocation_reason"] == "Hard-coded password found."
    assert client.post(f"/api/v1/certificates/{signed.cert_id}/verify").status_code == 405


def test_the_verify_api_reads_each_certificate_once_per_cache_period_and_a_revocation_shows_at_once(
        client, signed, lab, monkeypatch):
    from iotmark.registry import services
    from iotmark.registry.models import FirmwareVersion

    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    path = f"/api/v1/certificates/{signed.cert_id}/verify"
    first = client.get(path)
    assert first.json()["support_until"] == "2030-06-30" and first["Cache-Control"] == "public, max-age=5"
    # A change made behind the registry's services is seen only when the cached facts run out ...
    FirmwareVersion.objects.update(support_until="2031-01-31")
    assert client.get(path).json()["support_until"] == "2030-06-30"
    monkeypatch.setattr(services, "VERIFY_CACHE_SECONDS", 0.0)
    assert client.get(path).json()["support_until"] == "2030-06-30"  # still the entry stored with 5 s to live
    services.forget_verify_answers(signed.cert_id)
    assert client.get(path).json()["support_until"] == "2031-01-31"
    monkeypatch.setattr(services, "VERIFY_CACHE_SECONDS", 5.0)
    client.get(path)
    # ... while a revocation through the registry clears the entry at once.
    services.revoke_certificate(lab.user, signed.cert_id, "Hard-coded password found.")
    assert client.get(path).json()["status"] == "revoked"
