"""Importing another registry's record list: validated with limits, idempotent, audited, all or nothing."""

from __future__ import annotations

import copy
import json

import pytest

from iotmark.registry.interop import cta2120, exchange
from iotmark.registry.interop.models import ExternalRecord, RecordSource
from iotmark.registry.models import AuditEntry



@pytest.fixture
def document(record_document) -> dict:
    return copy.deepcopy(record_document)


def raw(document: dict) -> bytes:
    return json.dumps(document).encode()


def spoiled(document: dict, index: int, field: str, value) -> dict:
    out = copy.deepcopy(document)
    out["records"] = [copy.deepcopy(out["records"][0]) for _ in range(index + 1)]
    if value is KeyError:
        del out["records"][index][field]
    else:
        out["records"][index][field] = value
    return out


def test_importing_stores_the_record_under_its_source(document):
    result = exchange.import_document("Registry B", raw(document), actor="alice")
    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    stored = ExternalRecord.objects.get()
    assert stored.source.name == "Registry B" and stored.source.slug == "registry-b"
    assert stored.qr_code_url == document["records"][0]["QR_code_url"]
    assert (stored.manufacturer_name, stored.product_name) == ("Northwind Devices", "SmartPlug P1 (rev B)")
    assert stored.record == document["records"][0]
    assert cta2120.timestamp(stored.modified) == document["records"][0]["modified"]
    actions = list(AuditEntry.objects.filter(actor="alice").values_list("action", flat=True))
    assert actions == ["record.import", "records.sync"]


def test_importing_the_same_list_again_changes_nothing(document):
    exchange.import_document("Registry B", raw(document))
    before = ExternalRecord.objects.get()
    again = exchange.import_document("Registry B", raw(document))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    after = ExternalRecord.objects.get()
    assert (after.pk, after.fetched) == (before.pk, before.fetched)


def test_a_newer_version_replaces_an_older_one_but_not_the_reverse(document):
    exchange.import_document("Registry B", raw(document))
    newer = copy.deepcopy(document)
    newer["records"][0]["modified"] = "2099-01-01T00:00:00.000000Z"
    newer["records"][0]["support_date"] = "2031-12-31"
    assert exchange.import_document("Registry B", raw(newer)).updated == 1
    assert ExternalRecord.objects.get().record["support_date"] == "2031-12-31"
    assert exchange.import_document("Registry B", raw(document)).unchanged == 1
    assert ExternalRecord.objects.get().record["support_date"] == "2031-12-31"
    assert RecordSource.objects.get().last_modified.year == 2099


def test_the_same_record_from_two_sources_is_kept_twice(document):
    exchange.import_document("Registry B", raw(document))
    exchange.import_document("Registry C", raw(document))
    assert sorted(ExternalRecord.objects.values_list("source__name", flat=True)) == ["Registry B", "Registry C"]


@pytest.mark.parametrize("index, field, value, message", [
    (0, "support_date", "soon", "record 0: field support_date: 'soon' is not a valid date (YYYY-MM-DD)"),
    (2, "product_name", KeyError, "record 2: field product_name: is missing"),
    (1, "QR_code_url", "javascript:alert(1)", "record 1: field QR_code_url: 'javascript:alert(1)' is not a valid http(s) URL"),
    (0, "sbom_hbom_available", "yes", "record 0: field sbom_hbom_available: 'yes' is not of type 'boolean', 'null'"),
    (0, "favourite_colour", "blue", "record 0: field favourite_colour: unknown field"),
    (1, "modified", "2026-13-45T99:00:00Z", "record 1: field modified:"),
])
def test_a_broken_record_is_rejected_naming_its_index_and_field(document, index, field, value, message):
    with pytest.raises(cta2120.RecordError) as error:
        exchange.import_document("Registry B", raw(spoiled(document, index, field, value)))
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)
    assert not ExternalRecord.objects.exists() and not RecordSource.objects.exists()


@pytest.mark.parametrize("body, message", [
    (b"{not json", "document is not valid JSON: line 1 column 2"),
    (b"\xff\xfe", "document is not UTF-8 text"),
    (b"[" * 50_000 + b"]" * 50_000, "nested more than 8 levels deep"),
    (b"[]", "top level: expected a JSON object"),
    (b'{"schema": "iotmark-cta2120-records/1"}', "field records: is missing"),
    (b" " * (8 * 1024 * 1024 + 1), "document is 8388609 bytes; the limit is 8388608"),
])
def test_unusable_documents_get_one_clear_line(body, message):
    with pytest.raises(cta2120.RecordError) as error:
        exchange.import_document("Registry B", body)
    assert message in str(error.value)
    assert not ExternalRecord.objects.exists()


def test_too_many_records_are_refused(document):
    many = copy.deepcopy(document)
    many["records"] = many["records"] * (cta2120.MAX_RECORDS + 1)  # the same dict repeated: cheap
    with pytest.raises(cta2120.RecordError, match="field records: 5001 records; at most 5000"):
        cta2120.validate_list(many)


def test_regulators_and_admins_import_over_the_api(client, document, regulator):
    response = client.post("/api/v1/records/import?source=Registry%20B", raw(document),
                           content_type="application/json", **regulator.headers)
    assert response.status_code == 200, response.content
    assert response.json() == {"source": "Registry B", "created": 1, "updated": 0, "unchanged": 0, "withdrawn": 0}
    assert AuditEntry.objects.filter(actor="inspector", action="record.import").count() == 1


def test_api_import_refuses_other_roles_and_bad_records(client, lab, admin, document):
    url = "/api/v1/records/import?source=Registry%20B"
    assert client.post(url, raw(document), content_type="application/json").status_code == 401
    refused = client.post(url, raw(document), content_type="application/json", **lab.headers)
    assert refused.status_code == 403
    bad = client.post(url, raw(spoiled(document, 0, "authorization_date", 20260101)),
                      content_type="application/json", **admin.headers)
    assert bad.status_code == 400
    assert bad.json()["detail"] == "record 0: field authorization_date: 20260101 is not of type 'string'"
    assert client.post(url, b"", content_type="application/json", **admin.headers).status_code == 400
    assert not ExternalRecord.objects.exists()


def test_import_command_reports_what_it_stored(separate_process, second_registry, document, tmp_path):
    good = tmp_path / "good.json"
    good.write_bytes(raw(document))
    done = second_registry.cli("records", "import", str(good), "--source", "Registry A")
    assert done.stdout == "Registry A: 1 new, 0 updated, 0 unchanged, 0 withdrawn\n"


def test_a_withdrawal_from_the_source_marks_the_stored_record(client, document):
    exchange.import_document("Registry B", raw(document))
    later = copy.deepcopy(document)
    url = document["records"][0]["QR_code_url"]
    later["records"], later["withdrawn"] = [], [{"QR_code_url": url, "modified": "2099-01-01T00:00:00Z",
                                                 "reason": "revoked"}]
    assert exchange.import_document("Registry B", raw(later)).withdrawn == 1
    stored = ExternalRecord.objects.get()
    assert (stored.withdrawn.year, stored.withdrawn_reason) == (2099, "revoked")
    assert "(<strong>revoked</strong> there)" in client.get("/records").content.decode()
    assert exchange.import_document("Registry B", raw(later)).withdrawn == 0
