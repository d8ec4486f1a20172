"""Revoking on the web: a registry administrator (any certificate) or the issuing lab, in two steps (reason, then a
confirmation page whose POST revokes), CSRF-protected and audited; everyone else is refused and nothing changes."""

from __future__ import annotations

import html
import re

import pytest

from iotmark.registry.models import AuditEntry, Revocation

REASON = "The vendor shipped units with Telnet enabled & a default password."


def revoke_url(cert_id: str) -> str:
    return f"/verify/{cert_id}/revoke"


def verify_api(client, cert_id: str) -> dict:
    return client.get(f"/api/v1/certificates/{cert_id}/verify").json()


def test_an_admin_revokes_any_certificate_after_confirming_and_the_verify_api_says_revoked(client, uploaded, admin):
    client.force_login(admin.user)
    verify_page = client.get(f"/verify/{uploaded.cert_id}").content.decode()
    assert "As a registry administrator you can revoke any certificate." in verify_page
    assert f'<form method="get" action="{revoke_url(uploaded.cert_id)}">' in verify_page

    confirm = client.get(revoke_url(uploaded.cert_id), {"reason": REASON})
    text = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Confirm: revoke this certificate?" in text and html.escape(REASON, quote=False) in text
    assert "Northwind Devices SmartPlug P1, firmware 1.4.2" in text
    assert not Revocation.objects.exists()  # showing the confirmation changes nothing

    done = client.post(revoke_url(uploaded.cert_id), {"reason": REASON})
    assert (done.status_code, done["Location"]) == (302, f"/verify/{uploaded.cert_id}")
    page = client.get(done["Location"]).content.decode()
    assert "The certificate is now revoked." in page and "REVOKED" in page
    answer = verify_api(client, uploaded.cert_id)
    assert (answer["status"], answer["revocation_reason"]) == ("revoked", REASON)
    entry = AuditEntry.objects.get(action="certificate.revoke")
    assert (entry.actor, entry.data["reason"]) == ("root", REASON)


def test_the_issuing_lab_goes_through_the_same_confirmation(client, uploaded, lab):
    client.force_login(lab.user)
    assert "Your lab issued this certificate." in client.get(f"/verify/{uploaded.cert_id}").content.decode()
    confirm = client.get(revoke_url(uploaded.cert_id), {"reason": "withdrawn by the lab"})
    assert confirm.status_code == 200 and 'name="reason" value="withdrawn by the lab"' in confirm.content.decode()
    assert client.post(revoke_url(uploaded.cert_id), {"reason": "withdrawn by the lab"}).status_code == 302
    assert verify_api(client, uploaded.cert_id)["status"] == "revoked"
    assert AuditEntry.objects.get(action="certificate.revoke").actor == "assessor"


@pytest.mark.parametrize("who", ["vendor", "regulator", "other_lab"])
def test_vendors_regulators_and_other_labs_are_refused_and_nothing_changes(client, uploaded, who, request):
    person = request.getfixturevalue(who)
    client.force_login(getattr(person, "user", person))
    assert 'name="reason"' not in client.get(f"/verify/{uploaded.cert_id}").content.decode()
    for response in (client.get(revoke_url(uploaded.cert_id)),
                     client.get(revoke_url(uploaded.cert_id), {"reason": "not mine"}),
                     client.post(revoke_url(uploaded.cert_id), {"reason": "not mine"})):
        assert response.status_code == 403
        assert "Only the lab that issued a certificate can revoke it." in response.content.decode()
    assert not Revocation.objects.exists() and not AuditEntry.objects.filter(action="certificate.revoke").exists()
    assert verify_api(client, uploaded.cert_id)["status"] == "valid"


def test_anonymous_visitors_are_sent_to_log_in_and_nothing_changes(client, uploaded):
    response = client.post(revoke_url(uploaded.cert_id), {"reason": "anonymous"})
    assert response.status_code == 302 and response["Location"].startswith("/login?next=")
    assert client.get(revoke_url(uploaded.cert_id)).status_code == 302
    assert not Revocation.objects.exists()


@pytest.mark.parametrize("reason, message", [
    ("", "Please say why the certificate is revoked"),
    ("   \n ", "Please say why the certificate is revoked"),
    ("x" * 1001, "Please keep the reason to at most 1000 characters."),
])
def test_a_missing_or_oversized_reason_is_refused_with_the_form_again(client, uploaded, admin, reason, message):
    client.force_login(admin.user)
    for response in (client.get(revoke_url(uploaded.cert_id), {"reason": reason}),
                     client.post(revoke_url(uploaded.cert_id), {"reason": reason})):
        assert response.status_code == 400
        text = response.content.decode()
        assert message in text and "Why is it revoked?" in text
    assert client.post(revoke_url(uploaded.cert_id)).status_code == 400  # no field at all
    assert not Revocation.objects.exists()


def test_the_revoking_post_needs_the_csrf_token_of_the_confirmation_page(csrf_client, uploaded, admin):
    csrf_client.force_login(admin.user)
    forged = csrf_client.post(revoke_url(uploaded.cert_id), {"reason": REASON})
    assert forged.status_code == 403
    assert not Revocation.objects.exists()
    page = csrf_client.get(revoke_url(uploaded.cert_id), {"reason": REASON}).content.decode()
    token = re.search(r'<form method="post" action="[^"]+">\s*<input type="hidden" name="csrfmiddlewaretoken" '
                      r'value="([^"]+)"', page).group(1)
    done = csrf_client.post(revoke_url(uploaded.cert_id), {"reason": REASON, "csrfmiddlewaretoken": token})
    assert done.status_code == 302 and Revocation.objects.get().revoked_by == admin.user


def test_an_already_revoked_or_unknown_certificate_is_a_clear_refusal(client, uploaded, admin):
    client.force_login(admin.user)
    assert client.post(revoke_url(uploaded.cert_id), {"reason": REASON}).status_code == 302
    again = client.post(revoke_url(uploaded.cert_id), {"reason": "twice"})
    assert again.status_code == 409 and "This certificate was already revoked on " in again.content.decode()
    assert Revocation.objects.get().reason == REASON
    assert 'name="reason"' not in client.get(f"/verify/{uploaded.cert_id}").content.decode()
    unknown = client.get(revoke_url("iotm-20260101-0000000000000000"))
    assert unknown.status_code == 404
    assert "No certificate with id iotm-20260101-0000000000000000 is registered." in unknown.content.decode()


def test_change_the_reason_goes_back_to_the_filled_in_form(client, uploaded, admin):
    client.force_login(admin.user)
    page = client.get(revoke_url(uploaded.cert_id), {"reason": "first try", "edit": "1"}).content.decode()
    assert "Why is it revoked?" in page and "first try</textarea>" in page
