"""The public record per vendor and the contract functions the market app and the facts export read."""

from __future__ import annotations

import json

import pytest

from iotmark.registry.enforcement import public, services
from iotmark.registry.enforcement.services import GroundIn
from iotmark.registry.enforcement.third_party_loss import estimate


@pytest.fixture
def record_data(regulator, product, certificate, failed_provision, incident_file):
    """One closed case with a fine, one open case, one incident of 300 devices: all about SmartPlug P1."""
    ground = GroundIn(kind="failed_provision", provision=failed_provision, certificate=certificate.cert_id)
    closed = services.open_case(regulator.user, product, "Weak default password", [ground])
    services.notify_vendor(regulator.user, closed.pk)
    services.respond(_vendor_user(product), closed.pk, "Fixed in 1.4.3")
    services.record_outcome(regulator.user, closed.pk, "fine", "Kept selling after notice", "12500.50", "EUR")
    services.close_case(regulator.user, closed.pk)
    still_open = services.open_case(regulator.user, product, "Secret note about an ongoing inquiry",
                                    [GroundIn(kind="other", detail="Confidential tip from a buyer")])
    services.import_incident(regulator.user, incident_file.read_bytes(), product, 300)
    return closed, still_open


def _vendor_user(product):
    from iotmark.registry import services as core

    return core.create_user("plug-maker", None, "vendor", product.vendor.name)


def test_vendor_counts_sum_cases_and_loss(record_data, product):
    counts = public.vendor_counts(product.vendor)
    assert counts == {"incidents": 1, "open_cases": 1, "closed_cases": 1,
                      "third_party_loss_eur": pytest.approx(estimate("botnet-enlisted", 300)["mean"])}


def test_vendor_cases_and_incidents_are_in_the_registry_facts_format(record_data, product, failed_provision):
    closed, still_open = record_data
    assert public.vendor_cases(product.vendor) == [
        {"id": str(closed.pk), "product": "SmartPlug P1", "opened": closed.opened.isoformat().replace("+00:00", "Z"),
         "status": "closed", "grounds": ["failed_provision"], "outcome": "fine"},
        {"id": str(still_open.pk), "product": "SmartPlug P1",
         "opened": still_open.opened.isoformat().replace("+00:00", "Z"), "status": "open", "grounds": ["other"],
         "outcome": None}]
    [incident] = public.vendor_incidents(product.vendor)
    assert (incident["product"], incident["opened"]) == ("SmartPlug P1", "2026-03-01T10:00:00Z")
    assert incident["third_party_loss_eur"] == pytest.approx(estimate("botnet-enlisted", 300)["mean"])


def test_a_vendor_without_records_has_zero_counts(other_product):
    assert public.vendor_counts(other_product.vendor) == {"incidents": 0, "open_cases": 0, "closed_cases": 0,
                                                          "third_party_loss_eur": 0.0}
    assert public.vendor_cases(other_product.vendor) == [] and public.vendor_incidents(other_product.vendor) == []


def test_public_page_shows_closed_cases_fully_and_open_cases_in_brief(client, record_data, product, failed_provision):
    page = client.get(f"/vendors/{product.vendor.pk}/record")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Weak default password" in text and f"requirement {failed_provision}" in text
    assert "Fine of 12,500.50 EUR" in text and "Fixed in 1.4.3" in text
    assert "open, no decision yet" in text and "Other" in text
    assert "Secret note" not in text and "Confidential tip" not in text
    assert "300 affected devices" in text and "not a court" in text


def test_public_api_record_hides_open_case_details(client, record_data, product):
    response = client.get(f"/api/v1/vendors/{product.vendor.pk}/record")
    assert response.status_code == 200
    body = response.json()
    assert body["counts"]["closed_cases"] == 1
    closed, still_open = body["cases"]
    assert (closed["outcome"], closed["fine_amount"], closed["fine_currency"]) == ("fine", 12500.5, "EUR")
    assert set(still_open) == {"id", "product", "opened", "status", "ground_kinds"}
    assert "Secret" not in json.dumps(body)


def test_record_of_an_unknown_or_non_vendor_organisation_is_404(client, regulator, lab):
    from iotmark.registry.models import Organisation

    regulator_org = Organisation.objects.get(kind="regulator")
    assert client.get(f"/vendors/{regulator_org.pk}/record").status_code == 404
    assert client.get("/api/v1/vendors/999999/record").status_code == 404
