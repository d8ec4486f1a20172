"""Vendors publish MUD files through POST /api/v1/mud; the registry serves the exact bytes at the MUD URL with
cache validators, keeps every version, and refuses bad uploads with one clear message, storing nothing."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from iotmark.registry.models import AuditEntry
from iotmark.registry.mudfiles.models import MudFile, MudSigner


def post_mud(client, person, product_id, content: bytes, signature: bytes | None = None):
    data = {"product_id": str(product_id), "mud": SimpleUploadedFile("mud.json", content)}
    if signature is not None:
        data["signature"] = SimpleUploadedFile("mud.json.p7s", signature)
    return client.post("/api/v1/mud", data, **person.headers)


def register_ca(client, person, pem: bytes):
    return client.post("/api/v1/mud/signers", {"certificate": SimpleUploadedFile("ca.pem", pem)}, **person.headers)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_a_published_file_is_served_byte_for_byte_with_cache_headers(make_mud, client, vendor, product, served_url):
    content = make_mud(served_url, cache_validity=24)
    response = post_mud(client, vendor, product.pk, content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["mud_url"], body["signature_url"]) == (1, served_url, None)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()

    served = client.get(path_of(served_url))
    assert served.status_code == 200
    assert served.content == content
    assert served["Content-Type"] == "application/mud+json"
    assert served["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert served["Cache-Control"] == f"public, max-age={24 * 3600}"
    assert served["Last-Modified"].endswith(" GMT")


def test_a_matching_if_none_match_gets_304_without_a_body(make_mud, client, vendor, product, served_url):
    post_mud(client, vendor, product.pk, make_mud(served_url))
    etag = client.get(path_of(served_url))["ETag"]
    again = client.get(path_of(served_url), HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    assert client.get(path_of(served_url), HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_every_version_is_kept_and_the_latest_is_served(make_mud, client, vendor, product, served_url):
    first, second = make_mud(served_url, cache_validity=24), make_mud(served_url, cache_validity=48)
    post_mud(client, vendor, product.pk, first)
    response = post_mud(client, vendor, product.pk, second)
    assert response.json()["version"] == 2
    assert client.get(path_of(served_url)).content == second
    assert list(MudFile.objects.filter(product=product).order_by("version").values_list("content", flat=True)) \
        == [first, second]
    page = client.get(path_of(served_url).removesuffix(".json"))
    assert page.status_code == 200
    assert "2 (current)" in page.content.decode() and served_url in page.content.decode()


def test_an_upload_is_audited(make_mud, client, vendor, product, served_url):
    post_mud(client, vendor, product.pk, make_mud(served_url))
    entry = AuditEntry.objects.filter(action="mud.upload").get()
    assert (entry.actor, entry.data["product"], entry.data["version"]) == ("northwind-lead", product.pk, 1)


def test_a_signed_file_serves_its_signature_which_verifies_under_the_vendors_ca(make_mud, client, vendor, product,
                                                                                  served_url, vendor_pki):
    from cryptography import x509

    from iotmark.mitigate.sign import verify_detached

    assert register_ca(client, vendor, vendor_pki.ca_pem).status_code == 201
    content = make_mud(served_url)
    response = post_mud(client, vendor, product.pk, content, vendor_pki.sign(content))
    assert response.status_code == 201, response.content
    assert response.json()["signed_by"] == "CN=Northwind MUD signer,O=Northwind Devices"
    signature = client.get(path_of(served_url).replace(".json", ".p7s"))
    assert signature["Content-Type"] == "application/pkcs7-signature"
    ca = x509.load_pem_x509_certificate(vendor_pki.ca_pem)
    assert verify_detached(client.get(path_of(served_url)).content, signature.content, [ca]).signer \
        == "CN=Northwind MUD signer,O=Northwind Devices"


def test_an_unsigned_file_has_no_signature_to_serve(make_mud, client, vendor, product, served_url):
    post_mud(client, vendor, product.pk, make_mud(served_url))
    assert client.get(path_of(served_url).replace(".json", ".p7s")).status_code == 404


def test_unknown_mud_urls_are_404(client, vendor, product):
    assert client.get(f"/mud/{product.vendor_id}/smartplug-p1.json").status_code == 404
    assert client.get("/mud/999999/anything.json").status_code == 404
    assert client.get("/mud/999999/anything").status_code == 404


def test_the_file_must_name_the_url_it_is_served_at(make_mud, client, vendor, product, served_url):
    response = post_mud(client, vendor, product.pk, make_mud("https://elsewhere.example/plug.json"))
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "the file's mud-url is 'https://elsewhere.example/plug.json'; this registry serves it at "
        f"{served_url}: put exactly that URL in the file (and in the device) and upload again")
    assert not MudFile.objects.exists()


def test_without_a_configured_address_the_url_is_the_requests_host_with_an_https_warning(make_mud, client, vendor, product):
    url = f"http://testserver/mud/{product.vendor_id}/smartplug-p1.json"
    response = post_mud(client, vendor, product.pk, make_mud(url))
    assert response.status_code == 201, response.content
    assert response.json()["mud_url"] == url
    assert any("not https://" in w for w in response.json()["warnings"])


def test_names_that_differ_from_the_product_are_warned_about_not_refused(make_mud, client, vendor, product, served_url):
    response = post_mud(client, vendor, product.pk, make_mud(served_url, manufacturer="Northwind", model="Plug"))
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "mfg-name is 'Northwind' but the product is made by 'Northwind Devices'",
        "model-name is 'Plug' but the product is 'SmartPlug P1'",
        "systeminfo 'Northwind Plug' does not mention the product 'SmartPlug P1'"]


def _nested(depth: int) -> bytes:
    return b'{"ietf-mud:mud": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("content, status, message", [
    (b"{not json", 400, "the MUD file is not usable JSON: invalid JSON at line 1 column 2"),
    (b"\xff\xfe{}", 400, "the MUD file is not usable JSON: not UTF-8 at byte 0"),
    (_nested(200), 400, "the MUD file is not usable JSON: JSON nested deeper than 48 levels"),
    (b" " * (256 * 1024 + 1), 413, "the MUD file is 262145 bytes; the registry takes at most 262144"),
    (b"", 400, "the MUD file is empty"),
])
def test_hostile_files_are_refused_with_one_message_and_nothing_stored(client, vendor, product, served_url,
                                                                       content, status, message):
    response = post_mud(client, vendor, product.pk, content)
    assert response.status_code == status
    assert response.json()["detail"].startswith(message)
    assert not MudFile.objects.exists()
    assert not AuditEntry.objects.filter(action="mud.upload").exists()


def test_a_file_not_conforming_to_the_yang_modules_is_refused_with_every_error(make_mud, client, vendor, product, served_url):
    mud = json.loads(make_mud(served_url))
    mud["ietf-mud:mud"]["cache-validity"] = 500
    mud["ietf-mud:mud"]["colour"] = "blue"
    response = post_mud(client, vendor, product.pk, json.dumps(mud).encode())
    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == [
        "/ietf-mud:mud/cache-validity: invalid-type: not in range",
        "/ietf-mud:mud/colour: member not defined by the MUD YANG modules"]
    assert response.json()["detail"].startswith("the MUD file does not conform to RFC 8520 (2 errors; first: ")
    assert not MudFile.objects.exists()


def test_a_signature_needs_a_registered_signer_certificate(make_mud, client, vendor, product, served_url, vendor_pki):
    content = make_mud(served_url)
    response = post_mud(client, vendor, product.pk, content, vendor_pki.sign(content))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Northwind Devices has no MUD signer certificate registered")
    assert not MudFile.objects.exists()


def test_a_signature_under_another_ca_is_refused(make_mud, client, vendor, product, served_url, vendor_pki):
    register_ca(client, vendor, vendor_pki.other_ca_pem)
    content = make_mud(served_url)
    response = post_mud(client, vendor, product.pk, content, vendor_pki.sign(content))
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "the signature was checked against Northwind Devices's registered MUD signer certificates and does not "
        "verify: signer certificate does not chain to a trusted certificate")
    assert not MudFile.objects.exists()


def test_a_signature_over_other_bytes_is_refused(make_mud, client, vendor, product, served_url, vendor_pki):
    register_ca(client, vendor, vendor_pki.ca_pem)
    content = make_mud(served_url)
    response = post_mud(client, vendor, product.pk, content, vendor_pki.sign(content + b"\n"))
    assert response.status_code == 400
    assert response.json()["detail"].endswith("content does not match the signed digest (file changed after signing)")
    garbage = post_mud(client, vendor, product.pk, content, b"\x30\x03\x02\x01")
    assert garbage.status_code == 400 and "does not verify: " in garbage.json()["detail"]
    assert not MudFile.objects.exists()


def test_another_vendor_cannot_upload_for_a_product_not_theirs(make_mud, client, other_vendor, product, served_url):
    response = post_mud(client, other_vendor, product.pk, make_mud(served_url))
    assert response.status_code == 404
    assert response.json()["detail"] == "no such product among your organisation's products"
    assert not MudFile.objects.exists()


def test_only_vendor_members_upload(make_mud, client, lab, product, served_url):
    response = post_mud(client, lab, product.pk, make_mud(served_url))
    assert response.status_code == 403
    assert not MudFile.objects.exists()


def test_signer_registration_refuses_what_is_not_a_certificate(client, vendor):
    response = register_ca(client, vendor, b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("cannot read the certificate")
    assert register_ca(client, vendor, b"hello").json()["detail"] == (
        "not a PEM certificate: expected a file with -----BEGIN CERTIFICATE-----")
    assert not MudSigner.objects.exists()


def test_registering_the_same_certificate_twice_keeps_one(client, vendor, vendor_pki):
    register_ca(client, vendor, vendor_pki.ca_pem)
    register_ca(client, vendor, vendor_pki.ca_pem)
    assert MudSigner.objects.count() == 1
    assert AuditEntry.objects.filter(action="mud.signer.add").count() == 1


def test_a_vendor_lists_its_products_with_the_url_each_file_must_name(client, vendor, other_vendor, product,
                                                                       served_url, make_mud):
    post_mud(client, vendor, product.pk, make_mud(served_url))
    listed = client.get("/api/v1/mud/products", **vendor.headers).json()
    assert [{k: v for k, v in p.items() if k != "versions"} for p in listed] == [
        {"product_id": product.pk, "model": "SmartPlug P1", "mud_url": served_url, "current_version": 1}]
    assert [v["url"] for v in listed[0]["versions"]] == [served_url.replace(".json", "/v1.json")]
    assert client.get("/api/v1/mud/products", **other_vendor.headers).json() == []


def test_two_products_whose_names_slug_alike_get_different_urls(client, vendor, product, served_url, make_mud,
                                                                public_base):
    from iotmark.registry.models import Product

    twin = Product.objects.create(vendor=product.vendor, model="SmartPlug-P1", device_class="consumer-general")
    post_mud(client, vendor, product.pk, make_mud(served_url))
    twin_url = f"{public_base}/mud/{product.vendor_id}/smartplug-p1-{twin.pk}.json"
    response = post_mud(client, vendor, twin.pk, make_mud(twin_url, model="SmartPlug-P1"))
    assert (response.status_code, response.json()["mud_url"]) == (201, twin_url)
    assert client.get(path_of(served_url)).content == make_mud(served_url)


def test_a_file_pointing_at_a_signature_elsewhere_is_warned_about(client, vendor, product, served_url, make_mud):
    mud = json.loads(make_mud(served_url))
    mud["ietf-mud:mud"]["mud-signature"] = "https://elsewhere.example/plug.p7s"
    response = post_mud(client, vendor, product.pk, json.dumps(mud).encode())
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "mud-signature is 'https://elsewhere.example/plug.p7s'; the registry serves the signature at "
        f"{served_url.removesuffix('.json')}.p7s",
        "the file names a signature but none was uploaded; MUD managers will not find it"]
