"""CTA-2120 export: our records match our schema, carry only what the evidence says, and list only certificates
that are valid today."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from iotmark.model import Assessment
from iotmark.registry import services
from iotmark.registry.interop import cta2120
from iotmark.registry.interop.cta2120 import RECORD_FIELDS, VendorProfile


def records_page(client, query: str = "") -> dict:
    response = client.get(f"/api/v1/records{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_record_list_validates_against_our_schema(client, uploaded):
    document = records_page(client)
    cta2120.validate_list(document)
    assert document["count"] == 1 and document["next"] is None
    assert list(document["records"][0])[:len(RECORD_FIELDS)] == list(RECORD_FIELDS)


def test_a_record_carries_the_certificate_facts(client, signed, uploaded):
    record = records_page(client)["records"][0]
    assert record["QR_code_url"] == f"http://testserver/verify/{signed.cert_id}"
    assert (record["manufacturer_name"], record["product_name"]) == ("Northwind Devices", "SmartPlug P1 (rev B)")
    assert record["authorization_date"] == uploaded.issued.isoformat()
    assert record["authorized_by"] == uploaded.issuer
    assert record["tested_by"] == "Example Test Lab"
    assert record["support_date"] == "2030-06-30"
    assert record["created"] == record["modified"] == cta2120.timestamp(uploaded.uploaded)
    assert record["x_iotmark_certificate"]["id"] == signed.cert_id


def test_evidence_lines_count_the_assessment_verdicts(client, signed, uploaded):
    record = records_page(client)["records"][0]
    verdicts = {v.provision: v.verdict.value for v in Assessment.model_validate_json(signed.assessment).verdicts}
    access = [verdicts[p] for p in ("5.1-1", "5.1-2", "5.1-3", "5.1-4", "5.1-5")]
    assert record["access_control"].startswith("Tested on passwords and logging in against ETSI EN 303 645 2.1.1: "
                                               "5 requirements, ")
    assert f"{access.count('PASS')} met" in record["access_control"]
    failed_updates = [p for p, v in verdicts.items() if p.startswith("5.3-") and v == "FAIL"]
    assert f"{len(failed_updates)} not met ({', '.join(failed_updates)})" in record["security_update_information"]


def test_fields_without_evidence_are_null_with_the_reason(client, uploaded):
    record = records_page(client)["records"][0]
    for name in ("sensor_data_collection", "account_deactivation", "security_contact", "sbom_hbom_available"):
        assert record[name] is None
        assert record["x_iotmark_notes"][name]
    assert set(record["x_iotmark_notes"]) == {k for k in RECORD_FIELDS if record[k] is None}


def test_the_declaration_and_vendor_profile_fill_what_they_state(signed, uploaded):
    from iotmark.collect.declaration import load_declaration
    from iotmark.model import Certificate
    from iotmark.workflows import sample_dir

    declaration = load_declaration(sample_dir() / "declaration.yaml")
    record = cta2120.build_record(Certificate.model_validate_json(signed.valid),
                                  Assessment.model_validate_json(signed.assessment), "Example Test Lab",
                                  uploaded.uploaded, uploaded.uploaded, declaration,
                                  VendorProfile(sbom_hbom_available=True))
    cta2120.validate_record(record)
    assert record["sensor_data_collection"] == "The maker declares the device collects: account, usage, energy."
    assert record["security_contact"] == "psirt@northwind.example"
    assert "updates are automatic; security fixes within 30 days" in record["security_update_information"]
    assert record["sbom_hbom_available"] is True
    assert set(record["x_iotmark_notes"]) == {"account_deactivation"}


def test_expired_and_revoked_certificates_are_not_listed(client, signed, lab):
    services.upload_certificate(lab.user, signed.expired, signed.assessment, today=signed.expired_issued)
    assert records_page(client)["records"] == []
    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    assert len(records_page(client)["records"]) == 1
    services.revoke_certificate(None, signed.cert_id, "firmware 1.4.2 leaks the Wi-Fi password")
    assert records_page(client)["records"] == []
    assert client.get(f"/api/v1/records/{signed.cert_id}").status_code == 404


def test_since_lists_changes_and_withdrawals_after_a_time(client, signed, uploaded):
    before = cta2120.timestamp(uploaded.uploaded - dt.timedelta(seconds=1))
    after = cta2120.timestamp(uploaded.uploaded + dt.timedelta(seconds=1))
    assert records_page(client, f"?since={before}")["count"] == 1
    assert records_page(client, f"?since={after}")["count"] == 0
    services.revoke_certificate(None, signed.cert_id, "key compromised")
    page = records_page(client, f"?since={before}")
    cta2120.validate_list(page)
    assert page["records"] == []
    assert [(w["QR_code_url"], w["reason"]) for w in page["withdrawn"]] == [
        (f"http://testserver/verify/{signed.cert_id}", "revoked")]


def test_one_record_by_certificate_id(client, signed, uploaded):
    response = client.get(f"/api/v1/records/{signed.cert_id}")
    assert response.status_code == 200
    assert response.json() == records_page(client)["records"][0]
    assert client.get("/api/v1/records/iotm-20260101-0000000000000000").status_code == 404
    assert client.get("/api/v1/records/" + "x" * 500).status_code == 404


@pytest.mark.parametrize("query, message", [
    ("?since=yesterday", "since: expected an ISO 8601 time"),
    ("?page=0", "page must be 1 or more"),
    ("?page_size=1000", "page_size between 1 and 200"),
])
def test_bad_list_queries_get_a_clear_400(client, query, message):
    response = client.get(f"/api/v1/records{query}")
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_pages_link_to_the_next_until_the_last(client, uploaded):
    first = records_page(client, "?page_size=1")
    assert first["next"] is None and len(first["records"]) == 1
    second = records_page(client, "?page=2&page_size=1")
    assert second["records"] == [] and second["count"] == 1


def test_export_command_writes_a_valid_list(separate_process, second_registry, signed, tmp_path: Path):
    out = tmp_path / "records.json"
    done = second_registry.cli("records", "export", "--out", str(out), "--base-url", second_registry.url)
    assert done.stdout.strip() == f"wrote 1 records to {out}"
    document = json.loads(out.read_text())
    cta2120.validate_list(document)
    assert document["registry"] == second_registry.url
    assert document["records"][0]["tested_by"] == "Remote Test Lab"
    assert document["records"][0]["x_iotmark_certificate"]["id"] == signed.cert_id
