"""Vendors keep their own data: pages with CSRF, API with tokens, own organisation only, every change audited."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from iotmark.registry.market.models import SupportPeriodChange, VendorProfile, VulnerabilityReport
from iotmark.registry.models import AuditEntry, Product


def _json(client, method: str, path: str, body: dict, person):
    return getattr(client, method)(path, body, content_type="application/json", **person.headers)


def _vuln(product_id: int, **extra) -> dict:
    now = timezone.now()
    return {"product_id": product_id, "title": "Telnet left open", "severity": "high",
            "received": (now - dt.timedelta(days=3)).isoformat(), **extra}


def test_profile_form_needs_the_csrf_token_and_records_an_audit_entry(vendor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(vendor.user)
    data = {"disclosure_email": "psirt@northwind.example", "disclosure_url": "https://northwind.example/security",
            "security_txt_url": "https://northwind.example/.well-known/security.txt"}
    assert browser.post("/vendor/profile", data).status_code == 403
    assert not VendorProfile.objects.exists()
    page = browser.get("/vendor/profile")
    token = page.cookies["csrftoken"].value
    response = browser.post("/vendor/profile", {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    profile = VendorProfile.objects.get()
    assert profile.disclosure_email == "psirt@northwind.example"
    entry = AuditEntry.objects.filter(action="vendor.profile.update").get()
    assert entry.actor == vendor.user.username and entry.data["disclosure_url"] == "https://northwind.example/security"


def test_anonymous_visitors_cannot_write(uploaded, client):
    product = Product.objects.get()
    assert client.post("/vendor/profile", {"disclosure_email": "x@example.org"}).status_code == 302
    assert client.post(f"/vendor/products/{product.pk}/firmware", {"version": "9"}).status_code == 302
    api = client.post("/api/v1/vendor/vulnerabilities", _vuln(product.pk), content_type="application/json")
    assert api.status_code == 401
    assert not VendorProfile.objects.exists() and not VulnerabilityReport.objects.exists()
    assert product.firmware_versions.count() == 1


def test_another_vendors_products_and_reports_are_not_found(vendor, other_vendor, client):
    product = Product.objects.get(vendor__name="Northwind Devices")
    created = _json(client, "post", "/api/v1/vendor/vulnerabilities", _vuln(product.pk), vendor)
    assert created.status_code == 201
    report_id = created.json()["id"]
    rival = Client()
    rival.force_login(other_vendor.user)
    assert rival.get(f"/vendor/products/{product.pk}").status_code == 404
    assert rival.post(f"/vendor/products/{product.pk}/firmware", {"version": "9.9"}).status_code == 404
    assert rival.get(f"/vendor/vulnerabilities/{report_id}").status_code == 404
    assert _json(client, "put", f"/api/v1/vendor/vulnerabilities/{report_id}", _vuln(product.pk),
                 other_vendor).status_code == 404
    assert _json(client, "post", "/api/v1/vendor/vulnerabilities", _vuln(product.pk), other_vendor).status_code == 404
    assert _json(client, "post", f"/api/v1/vendor/products/{product.pk}/firmware", {"version": "9"},
                 other_vendor).status_code == 404
    assert VulnerabilityReport.objects.get().title == "Telnet left open"


def test_labs_and_regulators_cannot_change_vendor_data(uploaded, lab, regulator, client):
    for person in (lab, regulator):
        response = _json(client, "put", "/api/v1/vendor/profile", {"disclosure_email": "a@b.example"}, person)
        assert response.status_code == 403 and "vendor" in response.json()["detail"]


def test_ending_support_earlier_for_a_certified_version_needs_a_reason(vendor, client):
    product = Product.objects.get(vendor__name="Northwind Devices")
    path = f"/api/v1/vendor/products/{product.pk}/firmware"
    earlier = {"version": "1.4.2", "support_until": "2028-01-31"}
    refused = _json(client, "post", path, earlier, vendor)
    assert refused.status_code == 400 and "give a reason" in refused.json()["detail"]
    assert product.firmware_versions.get().support_until == dt.date(2030, 6, 30)
    accepted = _json(client, "post", path, {**earlier, "reason": "chipset vendor ended its SDK"}, vendor)
    assert accepted.status_code == 200
    assert accepted.json()["firmware"] == [{"version": "1.4.2", "support_until": "2028-01-31"}]
    change = SupportPeriodChange.objects.get()
    assert (change.previous, change.new, change.reason) == (dt.date(2030, 6, 30), dt.date(2028, 1, 31),
                                                            "chipset vendor ended its SDK")
    assert AuditEntry.objects.filter(action="vendor.firmware.support").get().data["certified"] is True
    later = _json(client, "post", path, {"version": "1.4.2", "support_until": "2031-01-31"}, vendor)
    assert later.status_code == 200


def test_products_and_firmware_added_through_the_pages(vendor):
    browser = Client()
    browser.force_login(vendor.user)
    assert browser.post("/vendor/products/new", {"model": "Hub H2", "device_class": "consumer-general"}).status_code == 302
    hub = Product.objects.get(model="Hub H2")
    response = browser.post(f"/vendor/products/{hub.pk}/firmware", {"version": "2.0.1", "support_until": "2031-12-31"})
    assert response.status_code == 302
    assert hub.firmware_versions.get().support_until == dt.date(2031, 12, 31)
    bad = browser.post("/vendor/products/new", {"model": "Hub H3", "device_class": "toaster"})
    assert bad.status_code == 400 and not Product.objects.filter(model="Hub H3").exists()
    assert {"vendor.product.add", "vendor.firmware.add"} <= set(AuditEntry.objects.values_list("action", flat=True))


def test_bad_vulnerability_reports_are_refused_with_a_message(vendor, client):
    product = Product.objects.get(vendor__name="Northwind Devices")
    now = timezone.now()
    cases = [({"cve_id": "CVE-2024-12"}, "CVE"), ({"severity": "catastrophic"}, "severity"),
             ({"fixed": (now - dt.timedelta(days=5)).isoformat()}, "before the vendor became aware"),
             ({"received": (now + dt.timedelta(days=2)).isoformat()}, "future"),
             ({"title": ""}, "title")]
    for extra, words in cases:
        response = _json(client, "post", "/api/v1/vendor/vulnerabilities", _vuln(product.pk, **extra), vendor)
        assert response.status_code in (400, 422), extra
        assert words in str(response.json()["detail"]), (extra, response.json())
    assert not VulnerabilityReport.objects.exists()
    ok = _json(client, "post", "/api/v1/vendor/vulnerabilities", _vuln(product.pk, cve_id="cve-2024-3094"), vendor)
    assert ok.status_code == 201 and ok.json()["cve_id"] == "CVE-2024-3094"


def test_vendor_page_escapes_report_titles(vendor):
    product = Product.objects.get(vendor__name="Northwind Devices")
    browser = Client()
    browser.force_login(vendor.user)
    _json(browser, "post", "/api/v1/vendor/vulnerabilities",
          _vuln(product.pk, title="<img src=x onerror=alert(1)>"), vendor)
    html = browser.get("/vendor").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
