"""Non-compliance cases: regulators open them on grounds the registry's records support, the vendor concerned reads
and answers, the regulator records an outcome and closes; other roles and other vendors get nothing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client

from iotmark.registry.enforcement.models import Case, Ground
from iotmark.registry.models import AuditEntry


def api_post(client, path, body, person):
    return client.post(path, data=json.dumps(body), content_type="application/json", **person.headers)


def open_via_api(client, regulator, product, certificate, provision):
    body = {"product": product.pk, "summary": "Default password still accepted on the web console",
            "grounds": [{"kind": "failed_provision", "provision": provision, "certificate": certificate.cert_id},
                        {"kind": "other", "detail": "Buyers report the label is misleading"}]}
    return api_post(client, "/api/v1/cases", body, regulator)


def test_regulator_opens_a_case_on_a_failed_provision_and_it_is_audited(client, regulator, product, certificate,
                                                                        failed_provision):
    response = open_via_api(client, regulator, product, certificate, failed_provision)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["vendor"], body["product"], body["stage"], body["status"]) == (
        "Northwind Devices", "SmartPlug P1", "opened", "open")
    assert [(g["kind"], g["provision"], g["certificate"]) for g in body["grounds"]] == [
        ("failed_provision", failed_provision, certificate.cert_id), ("other", None, None)]
    assert [e["kind"] for e in body["timeline"]] == ["opened"]
    entry = AuditEntry.objects.get(action="case.open")
    assert (entry.actor, entry.object_id) == ("inspector", str(body["id"]))
    assert entry.data["grounds"][0] == {"kind": "failed_provision", "provision": failed_provision, "report": ""}


def test_a_provision_that_did_not_fail_is_refused_and_nothing_is_stored(client, regulator, product, certificate):
    from iotmark.registry.enforcement.grounds import failed_provisions

    passed = next(v["provision"] for v in json.loads(certificate.assessment)["verdicts"] if v["verdict"] == "PASS")
    assert passed not in failed_provisions(certificate)
    body = {"product": product.pk, "summary": "x",
            "grounds": [{"kind": "failed_provision", "provision": passed, "certificate": certificate.cert_id}]}
    response = api_post(client, "/api/v1/cases", body, regulator)
    assert response.status_code == 400
    assert response.json()["detail"] == (f"provision {passed} did not fail in certificate {certificate.cert_id}'s "
                                         "assessment")
    assert Case.objects.count() == 0 and Ground.objects.count() == 0


def test_unknown_product_is_a_404_and_nothing_is_stored(client, regulator, certificate):
    body = {"product": 987654, "summary": "x", "grounds": [{"kind": "other", "detail": "y"}]}
    response = api_post(client, "/api/v1/cases", body, regulator)
    assert (response.status_code, response.json()) == (404, {"detail": "no product 987654"})
    assert Case.objects.count() == 0


def test_support_expired_ground_needs_a_certified_version_past_its_support(client, regulator, product, certificate):
    from iotmark.registry import services
    from iotmark.registry.enforcement.grounds import check, choices
    from iotmark.registry.enforcement.services import GroundIn

    firmware = certificate.firmware
    ground = GroundIn(kind="support_expired", firmware=firmware.version)
    with pytest.raises(services.RegistryError, match="is not a certified version whose declared support has ended"):
        check(product, ground, today=dt.date(2030, 6, 30))
    later = dt.date(2030, 7, 1)
    assert check(product, ground, today=later).firmware == firmware
    offered = [c for c in choices(product, later) if c.kind == "support_expired"]
    assert [(c.firmware, c.label) for c in offered] == [
        ("1.4.2", "Firmware 1.4.2: security updates ended on 2030-06-30")]


def test_full_timeline_to_a_fine_then_closed(client, regulator, vendor, product, certificate, failed_provision):
    case_id = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    base = f"/api/v1/cases/{case_id}"
    assert api_post(client, f"{base}/response", {"text": "too early"}, vendor).status_code == 409
    assert api_post(client, f"{base}/notify", {"note": "letter of 2 March"}, regulator).status_code == 200
    assert api_post(client, f"{base}/response", {"text": "Fixed in 1.4.3"}, vendor).status_code == 200
    fine = {"outcome": "fine", "reasons": "Default password kept after notice", "fine_amount": "25000",
            "fine_currency": "eur"}
    decided = api_post(client, f"{base}/outcome", fine, regulator)
    assert decided.status_code == 200, decided.content
    assert (decided.json()["outcome"], Decimal(decided.json()["fine_amount"]), decided.json()["fine_currency"]) == (
        "fine", Decimal("25000.00"), "EUR")
    closed = api_post(client, f"{base}/close", {}, regulator).json()
    assert (closed["stage"], closed["status"]) == ("closed", "closed")
    assert [e["kind"] for e in closed["timeline"]] == ["opened", "notified", "response", "outcome", "closed"]
    assert [e.action for e in AuditEntry.objects.order_by("id") if e.action.startswith("case.")] == [
        "case.open", "case.notify", "case.respond", "case.outcome", "case.close"]
    assert api_post(client, f"{base}/close", {}, regulator).status_code == 409


@pytest.mark.parametrize("fine", [{"fine_amount": None}, {"fine_amount": "-5", "fine_currency": "EUR"},
                                  {"fine_amount": "100", "fine_currency": "E1"}],
                         ids=["no-amount", "negative", "bad-currency"])
def test_a_fine_needs_a_positive_amount_and_a_currency(client, regulator, product, certificate, failed_provision,
                                                       fine):
    case_id = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    api_post(client, f"/api/v1/cases/{case_id}/notify", {}, regulator)
    response = api_post(client, f"/api/v1/cases/{case_id}/outcome",
                        {"outcome": "fine", "reasons": "r", **fine}, regulator)
    assert response.status_code in (400, 422)
    assert "detail" in response.json()
    assert Case.objects.get(pk=case_id).outcome == ""


def test_vendor_reads_its_own_case_but_cannot_open_one(client, regulator, vendor, product, certificate,
                                                       failed_provision):
    case_id = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    assert client.get(f"/api/v1/cases/{case_id}", **vendor.headers).status_code == 200
    assert [c["id"] for c in client.get("/api/v1/cases", **vendor.headers).json()] == [case_id]
    response = open_via_api(client, vendor, product, certificate, failed_provision)
    assert (response.status_code, response.json()) == (403, {"detail": "only regulators can do this"})
    assert Case.objects.count() == 1


def test_another_vendor_gets_404_for_a_case_by_id_and_an_empty_list(client, regulator, other_vendor, product,
                                                                     certificate, failed_provision):
    case_id = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    assert client.get(f"/api/v1/cases/{case_id}", **other_vendor.headers).status_code == 404
    assert client.get("/api/v1/cases", **other_vendor.headers).json() == []
    assert api_post(client, f"/api/v1/cases/{case_id}/response", {"text": "x"}, other_vendor).status_code == 404
    client.force_login(other_vendor.user)
    assert client.get(f"/cases/{case_id}").status_code == 404


def test_lab_and_anonymous_cannot_see_cases(client, regulator, lab, product, certificate, failed_provision):
    case_id = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    assert client.get(f"/api/v1/cases/{case_id}", **lab.headers).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 401
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 302 and "login" in page["Location"]
    client.force_login(lab.user)
    assert client.get("/cases").status_code == 403


def test_regulator_opens_a_case_from_the_web_form(client, regulator, product, certificate, failed_provision):
    client.force_login(regulator.user)
    form = client.get(f"/cases/new?product={product.pk}")
    assert form.status_code == 200
    value = f"failed_provision|{failed_provision}|{certificate.cert_id}||"
    assert value in form.content.decode()
    response = client.post(f"/cases/new?product={product.pk}", {"summary": "Weak default password",
                                                                  "grounds": [value], "firmware": "1.4.2"})
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}"
    assert (case.firmware.version, [g.provision for g in case.grounds.all()]) == ("1.4.2", [failed_provision])
    page = client.get(f"/cases/{case.pk}").content.decode()
    assert f"provision {failed_provision}" in page and "Record that the vendor was notified" in page


def test_web_forms_enforce_csrf(regulator, vendor, product, certificate, failed_provision):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(regulator.user)
    response = strict.post(f"/cases/new?product={product.pk}", {"summary": "x", "other": "y"})
    assert response.status_code == 403
    assert Case.objects.count() == 0
    page = strict.get(f"/cases/new?product={product.pk}")
    token = page.cookies["csrftoken"].value
    response = strict.post(f"/cases/new?product={product.pk}",
                           {"summary": "x", "other": "y", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Case.objects.count() == 1


def test_web_form_without_any_ground_is_refused(client, regulator, product, certificate):
    client.force_login(regulator.user)
    response = client.post(f"/cases/new?product={product.pk}", {"summary": "no grounds"})
    assert response.status_code == 400
    assert "Choose at least one ground" in response.content.decode()
    assert Case.objects.count() == 0


def test_vendor_responds_from_the_case_page(client, regulator, vendor, product, certificate, failed_provision):
    case_id = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    api_post(client, f"/api/v1/cases/{case_id}/notify", {}, regulator)
    client.force_login(vendor.user)
    assert "Send the response" in client.get(f"/cases/{case_id}").content.decode()
    assert client.post(f"/cases/{case_id}/respond", {"text": "We shipped 1.4.3"}).status_code == 302
    assert Case.objects.get(pk=case_id).response == "We shipped 1.4.3"
    assert client.post(f"/cases/{case_id}/outcome", {"outcome": "warning", "reasons": "r"}).status_code == 403


def test_case_list_filters_by_stage(client, regulator, product, certificate, failed_provision):
    first = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    second = open_via_api(client, regulator, product, certificate, failed_provision).json()["id"]
    api_post(client, f"/api/v1/cases/{second}/notify", {}, regulator)
    client.force_login(regulator.user)
    page = client.get("/cases?stage=notified").content.decode()
    assert f"/cases/{second}\"" in page and f"/cases/{first}\"" not in page
