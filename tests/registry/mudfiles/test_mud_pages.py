"""The vendor's MUD page (CSRF-protected forms: upload, signer certificates) and the public product page."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from iotmark.registry.mudfiles.models import MudFile, MudSigner


def signed_in(person) -> Client:
    """A browser with CSRF checks on, signed in as the person."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person.user)
    return browser


def csrf_token(browser: Client) -> str:
    page = browser.get("/vendor/mud").content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_the_vendor_page_tells_the_exact_url_to_put_in_the_file(vendor, product, public_base):
    page = signed_in(vendor).get("/vendor/mud")
    assert page.status_code == 200
    assert f"<code>{public_base}/mud/{product.vendor_id}/smartplug-p1.json</code>" in page.content.decode()


def test_an_upload_without_the_csrf_token_is_refused(vendor, product, served_url, make_mud):
    response = signed_in(vendor).post("/vendor/mud", {"product": product.pk,
                                                      "mud_file": SimpleUploadedFile("m.json", make_mud(served_url))})
    assert response.status_code == 403
    assert not MudFile.objects.exists()


def test_a_vendor_publishes_through_the_page_and_the_public_page_links_it(vendor, product, served_url, make_mud,
                                                                         vendor_pki, client):
    browser = signed_in(vendor)
    added = browser.post("/vendor/mud/signers", {"csrfmiddlewaretoken": csrf_token(browser),
                                                 "certificate": SimpleUploadedFile("ca.pem", vendor_pki.ca_pem)})
    assert added.status_code == 302 and MudSigner.objects.get().subject == "CN=Northwind MUD CA,O=Northwind Devices"
    content = make_mud(served_url)
    response = browser.post("/vendor/mud", {
        "csrfmiddlewaretoken": csrf_token(browser), "product": product.pk,
        "mud_file": SimpleUploadedFile("m.json", content),
        "signature": SimpleUploadedFile("m.json.p7s", vendor_pki.sign(content))})
    assert response.status_code == 200
    assert "Published version 1 of the SmartPlug P1 MUD file." in response.content.decode()
    assert MudFile.objects.get().content == content
    public = client.get(f"/mud/{product.vendor_id}/smartplug-p1").content.decode()
    assert "Signed by the maker" in public and "signed by CN=Northwind MUD signer,O=Northwind Devices" in public
    assert f'href="{served_url}"' in public


def test_a_refused_upload_shows_every_schema_error_on_the_page(vendor, product, served_url, make_mud):
    browser = signed_in(vendor)
    broken = make_mud(served_url).replace(b'"cache-validity": 24', b'"cache-validity": 0')
    response = browser.post("/vendor/mud", {"csrfmiddlewaretoken": csrf_token(browser), "product": product.pk,
                                            "mud_file": SimpleUploadedFile("m.json", broken)})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Not published: the MUD file does not conform to RFC 8520 (1 error; first: " in text
    assert "<code>/ietf-mud:mud/cache-validity: invalid-type: not in range</code>" in text
    assert not MudFile.objects.exists()


def test_another_vendors_product_is_404_on_the_page(other_vendor, product, served_url, make_mud):
    browser = signed_in(other_vendor)
    response = browser.post("/vendor/mud", {"csrfmiddlewaretoken": csrf_token(browser), "product": product.pk,
                                            "mud_file": SimpleUploadedFile("m.json", make_mud(served_url))})
    assert response.status_code == 404
    assert not MudFile.objects.exists()


def test_a_bad_signer_file_is_shown_as_a_form_error(vendor):
    browser = signed_in(vendor)
    response = browser.post("/vendor/mud/signers", {"csrfmiddlewaretoken": csrf_token(browser),
                                                    "certificate": SimpleUploadedFile("ca.pem", b"not pem")})
    assert response.status_code == 400
    assert "not a PEM certificate" in response.content.decode()
    assert not MudSigner.objects.exists()


def test_other_roles_cannot_open_the_vendor_page(lab, regulator):
    for person in (lab, regulator):
        response = signed_in(person).get("/vendor/mud")
        assert response.status_code == 403
        assert "only vendor members manage MUD files" in response.content.decode()


def test_vendors_find_the_mud_page_in_the_navigation(vendor, lab):
    assert 'href="/vendor/mud"' in signed_in(vendor).get("/").content.decode()
    assert 'href="/vendor/mud"' not in signed_in(lab).get("/").content.decode()
