"""Every state change leaves one audit entry in the same transaction, and the log cannot be rewritten unseen."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from typer.testing import CliRunner

from iotmark.registry import audit, services
from iotmark.registry.cli import registry_app
from iotmark.registry.models import AppendOnlyError, AuditEntry


def actions() -> list[tuple[str, str]]:
    return list(AuditEntry.objects.order_by("id").values_list("actor", "action"))


def verify_cli(*args: str):
    return CliRunner().invoke(registry_app, ["audit", "verify", *args])


def test_each_state_change_is_recorded_with_who_did_it(signed, lab):
    # the lab fixture: key trusted (creating the lab), assessor created, token issued
    assert actions() == [("system", "organisation.create"), ("system", "key.trust"), ("system", "user.create"),
                         ("assessor", "token.create")]
    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    services.revoke_certificate(lab.user, signed.cert_id, "the vendor withdrew the model")
    token = services.tokens_of(lab.user)[0]
    services.revoke_token(token, actor=lab.user)
    assert actions()[4:] == [("assessor", "organisation.create"), ("assessor", "certificate.upload"),
                             ("assessor", "certificate.revoke"), ("assessor", "token.revoke")]
    upload = AuditEntry.objects.get(action="certificate.upload")
    assert (upload.object_type, upload.object_id) == ("certificate", str(
        services.certificate_status(signed.cert_id).certificate.pk))
    assert upload.data["cert_id"] == signed.cert_id and upload.data["vendor"] == "Northwind Devices"
    assert AuditEntry.objects.get(action="certificate.revoke").data["reason"] == "the vendor withdrew the model"
    assert audit.verify().ok and audit.verify().entries == 8


def test_a_refused_change_leaves_no_entry(signed, lab):
    before = AuditEntry.objects.count()
    with pytest.raises(services.RegistryError):
        services.upload_certificate(lab.user, signed.other_key, signed.assessment)
    with pytest.raises(services.RegistryError):
        services.create_user("assessor", "another long password", "lab", "Example Test Lab")
    assert AuditEntry.objects.count() == before


def test_retrusting_a_trusted_key_changes_nothing_and_records_nothing(signed, lab):
    before = AuditEntry.objects.count()
    services.trust_key((signed.keys / "issuer.pub").read_bytes(), "Example Test Lab")
    assert AuditEntry.objects.count() == before
    services.trust_key((signed.keys / "issuer.pub").read_bytes(), "Example Test Lab", trusted=False)
    assert actions()[-1] == ("system", "key.distrust")


def test_the_model_refuses_to_change_or_delete_an_entry(lab):
    entry = AuditEntry.objects.first()
    entry.actor = "someone else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="someone else")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).actor == "system"


def test_verify_prints_the_entry_count_and_head(lab):
    result = verify_cli()
    assert result.exit_code == 0, result.output
    head = AuditEntry.objects.order_by("-id").first().hash
    assert result.output.strip() == f"audit log intact: 4 entries; head {head}"


def test_raw_sql_edit_of_an_entry_is_refused_by_postgresql_or_found_by_verify(lab, database, raw_sql):
    second = AuditEntry.objects.order_by("id")[1]
    edit = "UPDATE registry_auditentry SET data = %s WHERE id = %s"
    if database == "postgresql":
        with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
            raw_sql(edit, ['{"key_id": "forged"}', second.pk])
        assert verify_cli().exit_code == 0
        return
    raw_sql(edit, ['{"key_id": "forged"}', second.pk])
    result = verify_cli()
    assert result.exit_code == 1
    assert f"audit log broken at entry #{second.pk}: entry content changed after it was written" in result.output


def test_deleting_a_middle_entry_is_refused_by_postgresql_or_found_by_verify(lab, database, raw_sql):
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    if database == "postgresql":
        with pytest.raises(DatabaseError, match="append-only: DELETE refused"):
            raw_sql("DELETE FROM registry_auditentry WHERE id = %s", [ids[1]])
        with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
            raw_sql("TRUNCATE registry_auditentry")
        assert AuditEntry.objects.count() == 4
        return
    raw_sql("DELETE FROM registry_auditentry WHERE id = %s", [ids[1]])
    result = verify_cli()
    assert result.exit_code == 1
    assert f"audit log broken at entry #{ids[2]}: entry does not follow the one before it" in result.output


def test_a_cut_off_tail_is_found_with_the_head_kept_from_before(signed, lab, database, raw_sql):
    kept_head = AuditEntry.objects.order_by("-id").first().hash
    services.upload_certificate(lab.user, signed.valid, signed.assessment)
    assert verify_cli("--expect-head", kept_head).exit_code == 0  # the log grew: fine
    newest = AuditEntry.objects.order_by("-id").first()
    if database == "postgresql":
        # Only the table's owner could do this; the chain still shows it.
        raw_sql("ALTER TABLE registry_auditentry DISABLE TRIGGER registry_auditentry_no_change")
    raw_sql("DELETE FROM registry_auditentry WHERE id >= %s", [newest.pk - 1])
    assert verify_cli().exit_code == 0  # what is left is a valid chain on its own
    result = verify_cli("--expect-head", newest.hash)
    assert result.exit_code == 1
    assert "is not in the log: entries after" in result.output and "the tail was cut off" in result.output


def test_show_lists_the_latest_entries_oldest_first(lab):
    result = CliRunner().invoke(registry_app, ["audit", "show", "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert " system user.create user:" in lines[0] and " assessor token.create apitoken:" in lines[1]


def test_edits_in_the_admin_site_are_recorded(client, lab, admin):
    client.force_login(admin.user)
    token = services.tokens_of(lab.user)[0]
    response = client.post(f"/admin/registry/apitoken/{token.pk}/change/",
                           {"user": lab.user.pk, "name": "renamed", "revoked": "on"})
    assert response.status_code == 302
    entry = AuditEntry.objects.order_by("-id").first()
    assert (entry.actor, entry.action, entry.object_id, entry.data) == (
        "root", "apitoken.admin_change", str(token.pk), {"fields": ["name", "revoked"]})
    assert audit.verify().ok
