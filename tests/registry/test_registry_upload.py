"""Certificate upload: only a lab assessor, only with a trusted key of their own lab, only an intact signature."""

from __future__ import annotations

import json

import pytest

from iotmark.registry import services
from iotmark.registry.models import Certificate, FirmwareVersion, Organisation, Product


def upload(client, signed, certificate: str, headers: dict[str, str], assessment: str | None = None):
    body = {"certificate": certificate, "assessment": signed.assessment if assessment is None else assessment}
    return client.post("/api/certificates", data=json.dumps(body), content_type="application/json", **headers)


def test_lab_uploads_a_signed_certificate_and_it_is_stored_verbatim(client, signed, lab):
    response = upload(client, signed, signed.valid, lab.headers)
    assert response.status_code == 201
    body = response.json()
    assert (body["id"], body["status"], body["level"], body["vendor"], body["model"], body["firmware_version"]) == (
        signed.cert_id, "valid", 1, "Northwind Devices", "SmartPlug P1", "1.4.2")
    assert body["verify_url"] == f"http://testserver/verify/{signed.cert_id}"
    record = Certificate.objects.get(cert_id=signed.cert_id)
    assert record.document == signed.valid
    assert record.assessment == signed.assessment
    assert record.issuer_key == lab.key
    assert record.uploaded_by == lab.user
    assert Organisation.objects.get(name="Northwind Devices").kind == "vendor"
    assert Product.objects.get(model="SmartPlug P1").device_class == "consumer-low"
    assert FirmwareVersion.objects.get(version="1.4.2").support_until.isoformat() == "2030-06-30"


def test_uploading_the_same_certificate_again_returns_the_stored_one(client, signed, lab):
    assert upload(client, signed, signed.valid, lab.headers).status_code == 201
    again = upload(client, signed, signed.valid, lab.headers)
    assert again.status_code == 200
    assert again.json()["id"] == signed.cert_id
    assert Certificate.objects.count() == 1


def with_signature_of(certificate: str, donor: str) -> str:
    """The certificate carrying another key's signature, still in canonical form."""
    forged = json.loads(certificate)
    forged["signature"] = json.loads(donor)["signature"]
    return json.dumps(forged, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def with_one_byte_changed(certificate: str, _donor: str) -> str:
    changed = certificate.replace('"level":1', '"level":2')
    assert len(changed) == len(certificate) and changed != certificate
    return changed


@pytest.mark.parametrize("tamper", [with_signature_of, with_one_byte_changed], ids=["forged-signature", "one-byte"])
def test_a_certificate_whose_signature_does_not_match_is_rejected(client, signed, lab, tamper):
    response = upload(client, signed, tamper(signed.valid, signed.other_key), lab.headers)
    assert response.status_code == 422
    assert response.json() == {"detail": "certificate rejected: tampered: the signature does not match the "
                                         "certificate's content"}
    assert Certificate.objects.count() == 0


def test_a_reformatted_certificate_is_rejected_as_altered(client, signed, lab):
    response = upload(client, signed, signed.valid.replace('"level":1', '"level": 1'), lab.headers)
    assert response.status_code == 422
    assert response.json() == {"detail": "certificate rejected: altered: the file is not in the canonical form "
                                         "it was signed in"}


def test_a_certificate_signed_by_an_unregistered_key_is_rejected(client, signed, lab):
    other_id = json.loads(signed.other_key)["key_id"]
    response = upload(client, signed, signed.other_key, lab.headers)
    assert response.status_code == 422
    assert response.json() == {"detail": f"unknown key: the certificate is signed by key {other_id}, which is not "
                                         "a trusted issuer key in this registry"}
    assert Certificate.objects.count() == 0


def test_a_certificate_signed_by_a_key_no_longer_trusted_is_rejected(client, signed, lab):
    services.trust_key((signed.keys / "issuer.pub").read_bytes(), "Example Test Lab", trusted=False)
    response = upload(client, signed, signed.valid, lab.headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"unknown key: the certificate is signed by key {lab.key.key_id}")


def test_an_expired_certificate_is_rejected(client, signed, lab):
    response = upload(client, signed, signed.expired, lab.headers)
    expires = json.loads(signed.expired)["expires"]
    assert response.status_code == 422
    assert response.json() == {"detail": f"certificate rejected: expired on {expires}"}


def test_an_assessment_other_than_the_certified_one_is_rejected(client, signed, lab):
    other = json.loads(signed.assessment)
    other["level_name"] = "Something else"
    response = upload(client, signed, signed.valid, lab.headers, assessment=json.dumps(other))
    assert response.status_code == 422
    assert response.json() == {"detail": "the assessment is not the one this certificate was issued for "
                                         "(digests differ)"}


@pytest.mark.parametrize("text, detail", [
    ("not json", "certificate: not a JSON certificate"),
    ("[1, 2]", "certificate: expected a JSON object"),
])
def test_a_certificate_that_is_not_a_certificate_is_a_clean_400(client, signed, lab, text, detail):
    response = upload(client, signed, text, lab.headers)
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_a_request_body_that_is_not_json_is_a_clean_4xx(client, lab):
    response = client.post("/api/certificates", data="{", content_type="application/json", **lab.headers)
    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body"}


def test_anonymous_users_cannot_upload(client, signed, lab):
    response = upload(client, signed, signed.valid, {})
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
    assert Certificate.objects.count() == 0


def test_an_unknown_or_revoked_token_cannot_upload(client, signed, lab):
    assert upload(client, signed, signed.valid, {"HTTP_AUTHORIZATION": "Bearer iotm_nonsense"}).status_code == 401
    lab.user.api_tokens.update(revoked=True)
    assert upload(client, signed, signed.valid, lab.headers).status_code == 401


def test_a_vendor_user_cannot_upload(client, signed, lab):
    vendor = services.create_user("maker", "a long test password", "vendor", "Northwind Devices")
    token = services.issue_token(vendor)
    response = upload(client, signed, signed.valid, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json() == {"detail": "only lab assessors can upload or revoke certificates"}
    assert Certificate.objects.count() == 0


def test_a_lab_cannot_upload_certificates_signed_with_another_labs_key(client, signed, lab):
    rival = services.create_user("rival", "a long test password", "lab", "Rival Lab")
    token = services.issue_token(rival)
    response = upload(client, signed, signed.valid, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json() == {"detail": f"key {lab.key.key_id} belongs to Example Test Lab; "
                                         "you upload for Rival Lab"}


def test_the_service_accepts_a_certificate_on_a_day_it_was_valid(signed, lab):
    record, created = services.upload_certificate(lab.user, signed.expired, signed.assessment,
                                                  today=signed.expired_issued)
    assert created is True
    assert record.cert_id == signed.expired_id
    assert record.issued == signed.expired_issued


def test_a_deeply_nested_body_is_a_clean_400(client, lab):
    body = '{"certificate": ' + "[" * 100_000 + "]" * 100_000 + ', "assessment": ""}'
    response = client.post("/api/certificates", data=body, content_type="application/json", **lab.headers)
    assert response.status_code == 400
    assert Certificate.objects.count() == 0
