"""Federation: mirroring a second, real registry process over HTTP; hostile servers are refused cleanly and
leave nothing behind; mirrored records are shown as such and never pass for this registry's certificates."""

from __future__ import annotations

import pytest

from iotmark.registry.interop import mirror
from iotmark.registry.interop.models import ExternalRecord, RecordSource
from iotmark.registry.models import AuditEntry, Certificate


def test_mirroring_a_registry_imports_its_records_under_its_origin(second_registry, signed):
    result = mirror.mirror(second_registry.url, since="auto", timeout=30)
    assert (result.origin, result.pages, result.since) == (second_registry.url, 1, None)
    assert (result.imported.created, result.imported.updated) == (1, 0)
    stored = ExternalRecord.objects.select_related("source").get()
    assert stored.source.name == second_registry.url and stored.source.mirrored
    assert stored.qr_code_url == f"http://testserver/verify/{signed.cert_id}"
    assert stored.record["tested_by"] == "Remote Test Lab"
    assert stored.source.last_modified == stored.modified
    assert AuditEntry.objects.filter(actor="system", action="record.import").count() == 1


def test_a_second_mirror_run_fetches_nothing_new(second_registry):
    mirror.mirror(second_registry.url, timeout=30)
    again = mirror.mirror(second_registry.url, since="auto", timeout=30)
    assert again.since == RecordSource.objects.get().last_modified
    assert (again.imported.created, again.imported.updated, again.imported.withdrawn) == (0, 0, 0)
    assert ExternalRecord.objects.count() == 1


def test_mirrored_records_never_count_as_certificates_of_this_registry(client, second_registry, signed):
    mirror.mirror(second_registry.url, timeout=30)
    assert not Certificate.objects.exists()
    verify = client.get(f"/verify/{signed.cert_id}")
    assert verify.status_code == 404 and b"Unknown certificate" in verify.content
    assert client.get(f"/api/certificates/{signed.cert_id}").json()["status"] == "unknown"
    assert client.get("/api/v1/records").json()["records"] == []


def test_the_records_page_marks_mirrored_records_with_their_source(client, second_registry, uploaded):
    mirror.mirror(second_registry.url, timeout=30)
    page = client.get("/records")
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 certified here, 1 from other registries." in text
    assert f"from another registry: {second_registry.url}" in text
    stored = ExternalRecord.objects.select_related("source").get()
    detail = client.get(f"/records/{stored.source.slug}/{stored.pk}")
    assert detail.status_code == 200
    assert f"this record was copied from {second_registry.url}" in detail.content.decode()
    own = client.get(f"/records/local/{uploaded.cert_id}")
    assert own.status_code == 200 and b"Certified in this registry" in own.content
    assert client.get(f"/records/{stored.source.slug}/{stored.pk + 1000}").status_code == 404
    assert client.get("/records/local/iotm-20260101-0000000000000000").status_code == 404


@pytest.mark.parametrize("mode, message", [
    ("oversized", "the answer is larger than the limit of 8388608 bytes"),
    ("invalid", "page 1 is not valid JSON"),
    ("deep", "page 1 is nested more than 8 levels deep"),
    ("bad_record", "page 1: record 0: field support_date: 'soon' is not a valid date (YYYY-MM-DD)"),
    ("elsewhere", "page 1 points its next page to another site (http://203.0.113.9/"),
])
def test_a_hostile_server_gives_one_clean_error_and_stores_nothing(hostile, mode, message):
    hostile.mode = mode
    with pytest.raises(mirror.MirrorError) as error:
        mirror.mirror(hostile.url, timeout=20)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not ExternalRecord.objects.exists() and not RecordSource.objects.exists()


def test_a_server_that_never_answers_times_out(hostile):
    hostile.mode = "silent"
    with pytest.raises(mirror.MirrorError, match=r"no answer within 1 s"):
        mirror.mirror(hostile.url, timeout=1)
    assert not RecordSource.objects.exists()


@pytest.mark.parametrize("url, message", [
    ("http://registry.example", "refusing plain http to registry.example: use https"),
    ("ftp://registry.example", "is not an http(s) address"),
    ("https://user:pw@registry.example", "must not carry a user name or password"),
])
def test_unsafe_addresses_are_refused_before_connecting(url, message):
    with pytest.raises(mirror.MirrorError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mirror.list_url(url)


def test_addresses_resolve_to_the_record_list():
    assert mirror.list_url("https://Registry.Example/") == ("https://registry.example",
                                                            "https://registry.example/api/v1/records")
    assert mirror.list_url("http://127.0.0.1:8000/api/v1/records") == ("http://127.0.0.1:8000",
                                                                      "http://127.0.0.1:8000/api/v1/records")
    assert mirror.list_url("http://registry.example", insecure=True)[0] == "http://registry.example"


def test_mirror_command_prints_one_line_on_a_bad_server(separate_process, second_registry, hostile):
    hostile.mode = "bad_record"
    done = second_registry.cli("records", "mirror", hostile.url, "--timeout", "20", check=False)
    assert done.returncode == 1
    assert done.stderr == (f"error: {hostile.url}: page 1: record 0: field support_date: 'soon' is not a valid "
                           "date (YYYY-MM-DD)\n")
