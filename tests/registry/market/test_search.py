"""Public product search: the listing follows the core tables, filters match a brute-force check, bad input is a
400 with a message."""

from __future__ import annotations

import datetime as dt

from iotmark.registry.market.models import CertificateListing
from iotmark.registry.market.search import listing_status


def _all_rows():
    return list(CertificateListing.objects.all())


def test_an_uploaded_certificate_is_listed_with_its_product_and_support_period(uploaded):
    row = CertificateListing.objects.get(cert_id=uploaded.cert_id)
    assert (row.vendor_name, row.model, row.firmware_version) == ("Northwind Devices", "SmartPlug P1", "1.4.2")
    assert row.support_until == dt.date(2030, 6, 30)
    assert row.level == uploaded.level and not row.revoked


def test_revoking_a_certificate_shows_it_as_revoked_in_the_search(uploaded, client):
    from iotmark.registry import services

    services.revoke_certificate(None, uploaded.cert_id, "key compromise")
    body = client.get("/api/v1/products", {"status": "revoked"}).json()
    assert [r["id"] for r in body["results"]] == [uploaded.cert_id]
    assert body["results"][0]["status"] == "revoked"


def test_renaming_a_product_updates_its_listing(uploaded):
    product = uploaded.firmware.product
    product.model = "SmartPlug P1 Mini"
    product.save()
    assert CertificateListing.objects.get(cert_id=uploaded.cert_id).search_text.startswith("northwind devices smartplug p1 mini")


def test_the_seed_creates_a_listing_per_certificate_and_refuses_the_same_seed_twice(seeded):
    import pytest

    from iotmark.registry.market.seed import seed_certificates
    from iotmark.registry.models import Certificate
    from iotmark.registry.services import RegistryError

    assert CertificateListing.objects.count() == Certificate.objects.count() == seeded
    with pytest.raises(RegistryError, match="already seeded"):
        seed_certificates(5, vendors=1, rng_seed=7)


def test_filters_return_exactly_the_rows_a_brute_force_check_selects(seeded, client):
    today = dt.date.today()
    rows = _all_rows()
    word = rows[0].model.split()[0].lower()
    cutoff = today + dt.timedelta(days=365 * 3)
    expected = sorted((r for r in rows if word in r.search_text and r.level >= 2
                       and r.support_until is not None and r.support_until >= cutoff
                       and listing_status(r, today) == "valid"),
                      key=lambda r: (-r.level, -r.issued.toordinal(), r.cert_id))
    body = client.get("/api/v1/products", {"q": word.upper(), "min_level": "2", "updates_until": cutoff.isoformat(),
                                           "status": "valid", "page_size": "100"}).json()
    assert body["total"] == len(expected)
    assert [r["id"] for r in body["results"]] == [r.cert_id for r in expected]


def test_vendor_and_device_class_filters_and_name_sort(seeded, client):
    rows = _all_rows()
    vendor_id, device_class = rows[0].vendor_id, rows[0].device_class
    expected = sorted((r for r in rows if r.vendor_id == vendor_id and r.device_class == device_class),
                      key=lambda r: (r.vendor_name, r.model, r.firmware_version, r.cert_id))
    body = client.get("/api/v1/products", {"vendor": str(vendor_id), "device_class": device_class,
                                           "sort": "name"}).json()
    assert [r["id"] for r in body["results"]] == [r.cert_id for r in expected]


def test_pages_cover_every_row_once(seeded, client):
    seen = []
    for page in (1, 2, 3, 4):
        body = client.get("/api/v1/products", {"page": str(page), "page_size": "25", "sort": "newest"}).json()
        assert body["pages"] == 3
        seen += [r["id"] for r in body["results"]]
    assert len(seen) == len(set(seen)) == seeded


def test_bad_filter_values_are_a_400_with_a_message_on_the_api_and_the_page(client):
    for params, words in [({"min_level": "high"}, "min_level"), ({"min_level": "9"}, "min_level"),
                          ({"updates_until": "2030-13-01"}, "updates_until"), ({"status": "lost"}, "status"),
                          ({"device_class": "toaster"}, "unknown device class"), ({"page_size": "5000"}, "page_size"),
                          ({"q": "x" * 101}, "q"), ({"sort": "price"}, "sort"),
                          ({"vendor": "99999999999999999999"}, "vendor")]:  # was a 500 on SQLite (OverflowError)
        api = client.get("/api/v1/products", params)
        assert api.status_code == 400 and words in api.json()["detail"]
        page = client.get("/products", params)
        assert page.status_code == 400 and words in page.content.decode()


def test_the_search_page_lists_results_and_escapes_names(seeded, client):
    from iotmark.registry.models import Organisation

    org = Organisation.objects.filter(kind="vendor").first()
    org.name = "<script>alert(1)</script> Ltd"
    org.save()
    html = client.get("/products", {"q": "script", "sort": "name"}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in html
    assert html.count('name="c"') == CertificateListing.objects.filter(vendor=org).count()


def test_a_vendor_changing_the_support_period_moves_the_product_in_the_search(uploaded, client):
    firmware = uploaded.firmware
    firmware.support_until = dt.date(2035, 1, 31)
    firmware.save(update_fields=["support_until"])
    found = client.get("/api/v1/products", {"updates_until": "2034-12-31"}).json()["results"]
    assert [(r["id"], r["support_until"]) for r in found] == [(uploaded.cert_id, "2035-01-31")]


def test_search_words_are_literal_text_not_patterns(seeded, client):
    assert client.get("/api/v1/products", {"q": "%"}).json()["total"] == 0
    assert client.get("/api/v1/products", {"q": "_"}).json()["total"] == 0
