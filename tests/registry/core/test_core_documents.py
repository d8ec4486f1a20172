"""Label (SVG, PNG) and HTML report of a stored certificate, rendered with iotmark's own label and report code."""

from __future__ import annotations

import json

import pytest

from iotmark.assess.label import _qr_path


def test_the_svg_label_links_its_qr_code_to_this_registrys_verify_page(client, uploaded):
    response = client.get(f"/labels/{uploaded.cert_id}.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    svg = response.content.decode()
    url = f"http://testserver/verify/{uploaded.cert_id}"
    assert f"Verify at {url}." in svg
    assert f'<path d="{_qr_path(url)[0]}"' in svg  # the QR code's modules encode exactly this URL
    assert "Northwind Devices SmartPlug P1" in svg and "Level 1" in svg


def test_the_label_points_here_even_when_the_lab_signed_another_address(client, uploaded):
    assert json.loads(uploaded.document)["verify_url"].startswith("http://testserver/")
    svg = client.get(f"/labels/{uploaded.cert_id}.svg", HTTP_HOST="localhost").content.decode()
    assert f"Verify at http://localhost/verify/{uploaded.cert_id}." in svg


def test_the_png_label_is_a_png_image(client, uploaded):
    response = client.get(f"/labels/{uploaded.cert_id}.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(response.content[16:20], "big"), int.from_bytes(response.content[20:24], "big")
    assert (width, height) == (800, 1120)


def test_the_report_renders_the_stored_assessment_and_says_what_the_registry_holds(client, uploaded, signed):
    response = client.get(f"/reports/{uploaded.cert_id}.html")
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    bundle_digest = json.loads(signed.assessment)["bundle_digest"]
    assert "Security assessment: Northwind Devices SmartPlug P1" in page
    assert "Copy held by the registry." in page and f"sha256:{bundle_digest}" in page
    assert uploaded.cert_id in page
    verdicts = json.loads(signed.assessment)["verdicts"]
    assert all(v["provision"] in page for v in verdicts)


def test_the_verify_page_shows_the_label_and_links_the_report(client, uploaded):
    page = client.get(f"/verify/{uploaded.cert_id}").content.decode()
    assert f'<img src="/labels/{uploaded.cert_id}.svg"' in page
    assert f'href="/reports/{uploaded.cert_id}.html"' in page


@pytest.mark.parametrize("path", ["/labels/{}.svg", "/labels/{}.png", "/reports/{}.html"])
def test_an_unknown_id_is_not_found(client, uploaded, path):
    assert client.get(path.format("iotm-20260101-0000000000000000")).status_code == 404
    assert client.get(path.format("x" * 500)).status_code == 404


def test_a_revoked_certificates_label_is_stamped_revoked_and_a_valid_one_is_not(client, uploaded, lab):
    from iotmark.registry import services

    assert "REVOKED" not in client.get(f"/labels/{uploaded.cert_id}.svg").content.decode()
    services.revoke_certificate(lab.user, uploaded.cert_id, "Hard-coded password found.")
    revocation_day = services.verify_status(uploaded.cert_id).facts.revoked_on.isoformat()
    svg = client.get(f"/labels/{uploaded.cert_id}.svg").content.decode()
    assert f">REVOKED {revocation_day}</text>" in svg
    assert f'<desc id="label-desc">REVOKED {revocation_day}: do not rely on this label.' in svg
    png = client.get(f"/labels/{uploaded.cert_id}.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_expired_certificates_label_is_stamped_expired(client, signed, lab):
    from iotmark.registry import services

    services.upload_certificate(lab.user, signed.expired, signed.assessment, today=signed.expired_issued)
    svg = client.get(f"/labels/{signed.expired_id}.svg").content.decode()
    assert ">EXPIRED</text>" in svg and "REVOKED" not in svg
