"""Record exchange: this registry's valid certificates as CTA-2120 records (export), and storing record lists
from other registries (import), idempotently and audited."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import router, transaction
from django.db.models import QuerySet
from django.utils import timezone

from iotmark.model import Assessment, Bundle
from iotmark.model import Certificate as SignedCertificate
from iotmark.registry import audit
from iotmark.registry.interop import cta2120
from iotmark.registry.interop.models import ExternalRecord, RecordSource
from iotmark.registry.models import Certificate, Revocation

LOCAL_SOURCE = "local"
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 100
MAX_SOURCE_NAME = 300


def valid_certificates(today: dt.date | None = None) -> QuerySet[Certificate]:
    """Certificates a buyer can rely on today: in their validity period and not revoked, oldest upload first."""
    today = today or timezone.localdate()
    return (Certificate.objects.filter(revocation__isnull=True, issued__lte=today, expires__gte=today)
            .select_related("issuer_key__organisation").order_by("uploaded", "id"))


def certificate_record(row: Certificate) -> dict[str, Any]:
    """The CTA-2120 record of one stored certificate (stored rows are immutable, so modified == uploaded)."""
    cert = SignedCertificate.model_validate_json(row.document)
    assessment = Assessment.model_validate_json(row.assessment)
    # The vendor declaration comes with the evidence bundle when the lab shared it (checked against the
    # assessment's bundle digest on upload).
    declaration = Bundle.model_validate_json(row.bundle).declaration if row.bundle else None
    return cta2120.build_record(cert, assessment, tested_by=row.issuer_key.organisation.name,
                                created=row.uploaded, modified=row.uploaded, declaration=declaration)


def withdrawn_since(since: dt.datetime, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Records published before that this registry stopped vouching for at or after `since`."""
    today = today or timezone.localdate()
    out: list[tuple[dt.datetime, dict[str, Any]]] = []
    revoked = (Revocation.objects.filter(created__gte=since).select_related("certificate")
               .order_by("created")[:cta2120.MAX_RECORDS])
    for revocation in revoked:
        url = SignedCertificate.model_validate_json(revocation.certificate.document).verify_url
        out.append((revocation.created, {"QR_code_url": url, "modified": cta2120.timestamp(revocation.created),
                                         "reason": "revoked"}))
    # A certificate stops being valid the day after its expiry date (00:00 UTC).
    expired = (Certificate.objects.filter(revocation__isnull=True, expires__lt=today,
                                          expires__gte=since.date() - dt.timedelta(days=1))
               .order_by("expires")[:cta2120.MAX_RECORDS])
    for row in expired:
        ended = dt.datetime.combine(row.expires + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
        if ended >= since:
            url = SignedCertificate.model_validate_json(row.document).verify_url
            out.append((ended, {"QR_code_url": url, "modified": cta2120.timestamp(ended), "reason": "expired"}))
    out.sort(key=lambda item: item[0])
    return [entry for _, entry in out[:cta2120.MAX_RECORDS]]


def record_list(since: dt.datetime | None, page: int, page_size: int, origin: str,
                page_url: str | None = None) -> dict[str, Any]:
    """One page of the public record list; `page_url(n)` gives the address of page n for `next`."""
    rows = valid_certificates()
    if since is not None:
        rows = rows.filter(uploaded__gte=since)
    count = rows.count()
    start = (page - 1) * page_size
    chosen = list(rows[start:start + page_size])
    more = start + len(chosen) < count
    document: dict[str, Any] = {
        "schema": cta2120.LIST_SCHEMA_ID, "registry": origin, "generated": cta2120.timestamp(timezone.now()),
        "since": cta2120.timestamp(since) if since else None, "count": count, "page": page,
        "next": page_url(page + 1) if more and page_url else None,
        "records": [certificate_record(row) for row in chosen],
    }
    if since is not None and page == 1:
        document["withdrawn"] = withdrawn_since(since)
    return document


def source_slug(name: str) -> str:
    """URL part for a source: `https://reg.example:8443` -> `reg-example-8443`."""
    bare = re.sub(r"^[a-z]+://", "", name.strip().lower())
    return re.sub(r"[^a-z0-9]+", "-", bare).strip("-")[:90] or "source"


def _source(name: str, mirrored: bool) -> RecordSource:
    found = RecordSource.objects.filter(name=name).first()
    if found is not None:
        return found
    base = source_slug(name)
    slug, n = base, 1
    while slug == LOCAL_SOURCE or RecordSource.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return RecordSource.objects.create(name=name, slug=slug, mirrored=mirrored)


@dataclass
class ImportResult:
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    newest: dt.datetime | None = None
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.source}: {self.created} new, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.withdrawn} withdrawn")


def _newer(current: dt.datetime | None, candidate: dt.datetime) -> dt.datetime:
    return candidate if current is None or candidate > current else current


def import_records(source_name: str, records: list[dict[str, Any]], withdrawn: list[dict[str, Any]] | None = None,
                   actor: Any = None, mirrored: bool = False) -> ImportResult:
    """Store validated records under a source: new ones are created, ones with a newer `modified` replace the
    stored version, the rest are left unchanged. All or nothing; every change is audited."""
    name = source_name.strip()
    if not name or len(name) > MAX_SOURCE_NAME:
        raise cta2120.RecordError(f"source name must be 1 to {MAX_SOURCE_NAME} characters")
    result = ImportResult(name)
    now = timezone.now()
    with transaction.atomic(using=router.db_for_write(ExternalRecord)):
        source = _source(name, mirrored)
        for record in records:
            modified = cta2120.parse_timestamp(record["modified"])
            result.newest = _newer(result.newest, modified)
            values = {"product_name": record["product_name"], "manufacturer_name": record["manufacturer_name"],
                      "record": record, "modified": modified, "fetched": now, "withdrawn": None,
                      "withdrawn_reason": ""}
            stored = ExternalRecord.objects.filter(source=source, qr_code_url=record["QR_code_url"]).first()
            if stored is None:
                stored = ExternalRecord.objects.create(source=source, qr_code_url=record["QR_code_url"], **values)
                result.created += 1
                action = "record.import"
            elif modified > stored.modified:
                for key, value in values.items():
                    setattr(stored, key, value)
                stored.save()
                result.updated += 1
                action = "record.update"
            else:
                result.unchanged += 1
                continue
            audit.record(actor, action, stored, {"source": name, "qr_code_url": stored.qr_code_url,
                                                 "modified": record["modified"]})
        for entry in withdrawn or []:
            modified = cta2120.parse_timestamp(entry["modified"])
            result.newest = _newer(result.newest, modified)
            stored = ExternalRecord.objects.filter(source=source, qr_code_url=entry["QR_code_url"],
                                                   withdrawn__isnull=True, modified__lte=modified).first()
            if stored is None:
                continue
            stored.withdrawn, stored.withdrawn_reason = modified, entry["reason"]
            stored.save(update_fields=["withdrawn", "withdrawn_reason"])
            result.withdrawn += 1
            audit.record(actor, "record.withdraw", stored, {"source": name, "qr_code_url": stored.qr_code_url,
                                                           "reason": entry["reason"]})
        if result.newest is not None:
            source.last_modified = _newer(source.last_modified, result.newest)
        source.last_synced = now
        source.save(update_fields=["last_modified", "last_synced"])
        audit.record(actor, "records.sync", source, {"source": name, "created": result.created,
                                                     "updated": result.updated, "unchanged": result.unchanged,
                                                     "withdrawn": result.withdrawn})
    return result


def import_document(source_name: str, raw: bytes, actor: Any = None) -> ImportResult:
    """Validate a record list (bytes) and import it; RecordError names the bad record and field."""
    document = cta2120.parse_list(raw)
    return import_records(source_name, document["records"], document.get("withdrawn"), actor=actor)
