"""Log in/out, the lab's upload and revoke forms, and users' own API tokens: roles checked on the server."""

from __future__ import annotations

import json
import re

from django.core.files.uploadedfile import SimpleUploadedFile

from iotmark.registry import services
from iotmark.registry.models import ApiToken, Certificate, Revocation


def api_upload(client, signed, token: str):
    body = json.dumps({"certificate": signed.valid, "assessment": signed.assessment})
    return client.post("/api/certificates", data=body, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def files(signed, certificate: str | None = None) -> dict:
    return {"certificate": SimpleUploadedFile("certificate.json", (certificate or signed.valid).encode()),
            "assessment": SimpleUploadedFile("assessment.json", signed.assessment.encode())}


def test_log_in_shows_the_user_and_role_and_log_out_ends_the_session(client, lab):
    wrong = client.post("/login", {"username": "assessor", "password": "not it"})
    assert wrong.status_code == 200 and "do not match" in wrong.content.decode()
    response = client.post("/login", {"username": lab.user.username, "password": lab.password})
    assert (response.status_code, response["Location"]) == (302, "/")
    page = client.get("/").content.decode()
    assert "assessor (Lab assessor)" in page and 'href="/certificates/upload"' in page and "Log out" in page
    assert client.post("/logout").status_code == 302
    page = client.get("/").content.decode()
    assert "Log in" in page and "assessor" not in page and "/certificates/upload" not in page


def test_the_nav_offers_each_role_its_own_pages(client, regulator, vendor):
    client.force_login(regulator.user)
    page = client.get("/").content.decode()
    assert 'href="/cases"' in page and 'href="/reports/overdue"' in page and 'href="/incidents"' in page
    assert "/certificates/upload" not in page and "/account/tokens" not in page and 'href="/vendor"' not in page
    client.force_login(vendor.user)
    page = client.get("/").content.decode()
    assert 'href="/vendor"' in page and 'href="/programme"' in page and 'href="/account/tokens"' in page
    assert 'href="/cases"' in page  # a vendor sees the cases against its own products
    assert 'href="/reports/overdue"' not in page and "/certificates/upload" not in page


def test_a_lab_token_made_on_the_page_works_once_shown_and_stops_when_revoked(client, signed, lab):
    client.force_login(lab.user)
    page = client.post("/account/tokens", {"name": "upload script"}).content.decode()
    token = re.search(r'id="new-token">(iotm_[^<]+)<', page).group(1)
    assert token not in client.get("/account/tokens").content.decode()  # shown once only
    stored = ApiToken.objects.get(name="upload script")
    assert stored.digest != token and token not in stored.digest and token.startswith(stored.prefix)
    assert api_upload(client, signed, token).status_code == 201
    assert client.post("/account/tokens/revoke", {"token": stored.pk}).status_code == 302
    assert ApiToken.objects.get(pk=stored.pk).revoked
    assert api_upload(client, signed, token).status_code == 401


def test_a_vendor_cannot_see_or_revoke_another_users_tokens(client, lab, vendor):
    client.force_login(vendor.user)
    theirs, own = ApiToken.objects.get(user=lab.user), ApiToken.objects.get(user=vendor.user)
    page = client.get("/account/tokens").content.decode()
    assert own.prefix in page and theirs.prefix not in page
    assert client.post("/account/tokens/revoke", {"token": theirs.pk}).status_code == 404
    assert not ApiToken.objects.get(pk=theirs.pk).revoked


def test_token_pages_are_for_labs_and_vendors_only(client, regulator):
    response = client.get("/account/tokens")
    assert (response.status_code, response["Location"]) == (302, "/login?next=/account/tokens")
    client.force_login(regulator.user)
    assert client.get("/account/tokens").status_code == 403
    assert client.post("/account/tokens", {"name": "x"}).status_code == 403
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["tests"]  # only the fixture's own


def test_a_lab_uploads_through_the_form_and_sees_the_verify_link(client, signed, lab):
    client.force_login(lab.user)
    response = client.post("/certificates/upload", files(signed))
    assert response.status_code == 201
    assert f'href="/verify/{signed.cert_id}"' in response.content.decode()
    assert Certificate.objects.get().document == signed.valid
    again = client.post("/certificates/upload", files(signed))
    assert again.status_code == 200 and "already in the registry" in again.content.decode()


def test_a_refused_upload_shows_the_one_line_reason(client, signed, lab):
    client.force_login(lab.user)
    response = client.post("/certificates/upload", files(signed, signed.other_key))
    assert response.status_code == 422
    assert re.search(r'<p class="error">unknown key: the certificate is signed by key \w+, which is not a trusted '
                     r'issuer key in this registry</p>', response.content.decode())
    binary = {"certificate": SimpleUploadedFile("c.json", b"\xff\xfe\x00"), "assessment": files(signed)["assessment"]}
    response = client.post("/certificates/upload", binary)
    assert response.status_code == 400 and "not UTF-8 text" in response.content.decode()
    assert not Certificate.objects.exists()


def test_only_lab_assessors_may_upload_through_the_form(client, signed, vendor):
    client.force_login(vendor.user)
    assert client.get("/certificates/upload").status_code == 403
    assert client.post("/certificates/upload", files(signed)).status_code == 403
    assert not Certificate.objects.exists()


def test_the_issuing_lab_sees_the_revoke_form_and_revokes(client, uploaded, lab, other_lab):
    url = f"/verify/{uploaded.cert_id}"
    assert 'name="reason"' not in client.get(url).content.decode()
    client.force_login(other_lab)
    assert 'name="reason"' not in client.get(url).content.decode()
    client.force_login(lab.user)
    assert 'name="reason"' in client.get(url).content.decode()
    response = client.post(url + "/revoke", {"reason": "the vendor withdrew the model"})
    assert (response.status_code, response["Location"]) == (302, url)
    page = client.get(url).content.decode()
    assert "REVOKED" in page and "the vendor withdrew the model" in page and 'name="reason"' not in page


def test_another_lab_cannot_revoke_by_changing_the_id(client, uploaded, other_lab):
    client.force_login(other_lab)
    response = client.post(f"/verify/{uploaded.cert_id}/revoke", {"reason": "not ours"})
    assert response.status_code == 403
    assert "Only the lab that issued a certificate can revoke it." in response.content.decode()
    assert not Revocation.objects.exists()


def test_a_form_post_without_the_csrf_token_is_refused(csrf_client, uploaded, lab):
    csrf_client.force_login(lab.user)
    response = csrf_client.post(f"/verify/{uploaded.cert_id}/revoke", {"reason": "forged request"})
    assert response.status_code == 403
    assert csrf_client.post("/account/tokens", {"name": "forged"}).status_code == 403
    assert not Revocation.objects.exists() and ApiToken.objects.count() == 1
    # the same browser with the token from the page gets through
    page = csrf_client.get(f"/verify/{uploaded.cert_id}").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = csrf_client.post(f"/verify/{uploaded.cert_id}/revoke",
                                {"reason": "withdrawn", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Revocation.objects.count() == 1


def test_html_in_any_rendered_field_is_escaped(client, uploaded, lab):
    script = "<script>alert(1)</script>"
    client.force_login(lab.user)
    page = client.post("/account/tokens", {"name": script}).content.decode()
    assert script not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    services.revoke_certificate(lab.user, uploaded.cert_id, '<img src=x onerror="alert(2)">')
    page = client.get(f"/verify/{uploaded.cert_id}").content.decode()
    assert "<img src=x" not in page and "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    bad_id = client.get("/verify/%3Csvg%20onload%3Dalert(3)%3E").content.decode()
    assert "<svg onload" not in bad_id and "&lt;svg onload=alert(3)&gt;" in bad_id
