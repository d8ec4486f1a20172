"""Every published version of a product's MUD file stays downloadable at its own stable URL
(/mud/<vendor>/<product>/v<n>.json and .p7s, exact bytes, validators, long caching), and is listed with its date,
digest and publisher on the product's public page and in the vendor API."""

from __future__ import annotations

import hashlib

import pytest

from iotmark.registry.mudfiles import records

IMMUTABLE = f"public, max-age={365 * 24 * 3600}, immutable"


@pytest.fixture
def published(make_mud, vendor, product, served_url, public_base, vendor_pki):
    """Version 1 unsigned (cache validity 24 h), version 2 signed (48 h); (contents, signature of version 2)."""
    from iotmark.registry.mudfiles.models import MudSigner

    records.register_signers(vendor.user, vendor_pki.ca_pem)
    assert MudSigner.objects.count() == 1
    first, second = make_mud(served_url, cache_validity=24), make_mud(served_url, cache_validity=48)
    records.upload(vendor.user, product.pk, first, None, public_base)
    signature = vendor_pki.sign(second)
    records.upload(vendor.user, product.pk, second, signature, public_base)
    return [first, second], signature


def version_path(product, version: int, suffix: str = "json") -> str:
    return f"/mud/{product.vendor_id}/smartplug-p1/v{version}.{suffix}"


def test_each_version_is_served_byte_for_byte_at_its_own_url(client, product, published):
    contents, _ = published
    for number, content in enumerate(contents, start=1):
        response = client.get(version_path(product, number))
        assert (response.status_code, response.content) == (200, content)
        assert response["Content-Type"] == "application/mud+json"
        assert response["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
        assert response["Cache-Control"] == IMMUTABLE and response["Last-Modified"].endswith(" GMT")
    # The MUD URL itself still serves the newest version, with the file's own cache validity.
    current = client.get(f"/mud/{product.vendor_id}/smartplug-p1.json")
    assert current.content == contents[1] and current["Cache-Control"] == f"public, max-age={48 * 3600}"


def test_a_version_answers_304_to_its_own_etag_only(client, product, published):
    etag = client.get(version_path(product, 1))["ETag"]
    again = client.get(version_path(product, 1), HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content) == (304, b"")
    assert client.get(version_path(product, 2), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_signed_versions_signature_is_served_next_to_it_and_an_unsigned_one_has_none(client, product, published,
                                                                                       vendor_pki):
    from cryptography import x509

    from iotmark.mitigate.sign import verify_detached

    contents, signature = published
    served = client.get(version_path(product, 2, "p7s"))
    assert (served.status_code, served.content) == (200, signature)
    assert served["Content-Type"] == "application/pkcs7-signature" and served["Cache-Control"] == IMMUTABLE
    ca = x509.load_pem_x509_certificate(vendor_pki.ca_pem)
    assert verify_detached(contents[1], served.content, [ca]).signer == "CN=Northwind MUD signer,O=Northwind Devices"
    assert client.get(version_path(product, 1, "p7s")).status_code == 404


def test_versions_that_do_not_exist_are_404(client, product, published, other_vendor):
    from iotmark.registry.services import role_of

    assert client.get(version_path(product, 3)).status_code == 404
    assert client.get(version_path(product, 0)).status_code == 404
    assert client.get(f"/mud/{product.vendor_id}/another-plug/v1.json").status_code == 404
    # the same product name under another vendor's id names nothing
    other = role_of(other_vendor.user).organisation_id
    assert client.get(f"/mud/{other}/smartplug-p1/v1.json").status_code == 404


def test_the_product_page_lists_every_version_with_date_digest_publisher_and_downloads(client, product, published,
                                                                                      public_base):
    contents, _ = published
    page = client.get(f"/mud/{product.vendor_id}/smartplug-p1")
    text = page.content.decode()
    assert page.status_code == 200
    for number, content in enumerate(contents, start=1):
        assert f'<a href="{public_base}{version_path(product, number)}">file</a>' in text
        assert hashlib.sha256(content).hexdigest() in text
    assert f'<a href="{public_base}{version_path(product, 2, "p7s")}">signature</a>' in text
    assert f'{version_path(product, 1, "p7s")}"' not in text
    assert text.count("<td>Northwind Devices (northwind-lead)</td>") == 2
    assert "2 (current)" in text and "yes, by CN=Northwind MUD signer,O=Northwind Devices" in text


def test_the_vendor_api_lists_every_version_with_its_address(client, vendor, product, published, public_base):
    contents, _ = published
    listed = client.get("/api/v1/mud/products", **vendor.headers).json()
    mine = next(p for p in listed if p["product_id"] == product.pk)
    assert mine["current_version"] == 2
    assert [(v["version"], v["sha256"], v["published_by"], v["url"], v["signature_url"]) for v in mine["versions"]] \
        == [(2, hashlib.sha256(contents[1]).hexdigest(), "northwind-lead", f"{public_base}{version_path(product, 2)}",
             f"{public_base}{version_path(product, 2, 'p7s')}"),
            (1, hashlib.sha256(contents[0]).hexdigest(), "northwind-lead", f"{public_base}{version_path(product, 1)}",
             None)]
    assert all(v["published"].endswith(("Z", "+00:00")) for v in mine["versions"])
