"""A lab may share the evidence bundle with a certificate: the registry accepts only the bundle the assessment names
by digest, and then shows its findings in the public report and the vendor's declared facts in the label record."""

from __future__ import annotations

import json

from iotmark.model import Bundle
from iotmark.registry.models import Certificate


def upload(client, signed, lab, bundle: str | None):
    body = {"certificate": signed.valid, "assessment": signed.assessment}
    if bundle is not None:
        body["bundle"] = bundle
    return client.post("/api/certificates", data=json.dumps(body), content_type="application/json", **lab.headers)


def test_the_bundle_the_assessment_names_is_stored_with_the_certificate(client, signed, lab):
    assert upload(client, signed, lab, signed.bundle).status_code == 201
    assert Certificate.objects.get(cert_id=signed.cert_id).bundle == signed.bundle


def test_another_bundle_is_refused_and_nothing_is_stored(client, signed, lab):
    other = Bundle.model_validate_json(signed.bundle)
    other.findings = other.findings[1:]
    response = upload(client, signed, lab, other.model_dump_json(by_alias=True))
    assert response.status_code == 422
    assert response.json()["detail"] == ("the evidence bundle is not the one this assessment was made from "
                                         "(digests differ)")
    assert not Certificate.objects.exists()


def test_a_bundle_that_is_not_a_bundle_is_a_clean_400(client, signed, lab):
    response = upload(client, signed, lab, '{"findings": 3}')
    assert response.status_code == 400 and response.json()["detail"].startswith("bundle")
    assert not Certificate.objects.exists()


def test_the_public_report_lists_the_shared_findings(client, signed, lab):
    upload(client, signed, lab, signed.bundle)
    page = client.get(f"/reports/{signed.cert_id}.html").content.decode()
    assert "the registry checked that the bundle is the one the assessment names" in page
    failed = [f for f in Bundle.model_validate_json(signed.bundle).findings if f.outcome == "fail"]
    assert failed and all(f.check in page for f in failed)


def test_without_a_bundle_the_report_says_the_evidence_was_not_shared(client, signed, lab):
    upload(client, signed, lab, None)
    page = client.get(f"/reports/{signed.cert_id}.html").content.decode()
    assert "The lab did not share its evidence" in page


def test_the_label_record_takes_the_declared_facts_from_the_shared_bundle(client, signed, lab):
    upload(client, signed, lab, signed.bundle)
    record = client.get(f"/api/v1/records/{signed.cert_id}").json()
    declaration = Bundle.model_validate_json(signed.bundle).declaration
    assert record["sensor_data_collection"] == ("The maker declares the device collects: "
                                                + ", ".join(declaration.data_categories) + ".")
    contact = declaration.vulnerability_disclosure.get("contact") or declaration.vulnerability_disclosure["policy_url"]
    assert record["security_contact"] == contact
    assert "sensor_data_collection" not in record["x_iotmark_notes"]
