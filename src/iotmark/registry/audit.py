"""Append-only, hash-chained audit log of every state change in the registry.

Call `record(...)` inside the same transaction as the change it describes, so both land or neither does:

    with transaction.atomic():
        case = Case.objects.create(...)
        audit.record(request.user, "case.open", case, {"product": product.pk})

Entry n's hash is SHA-256 over entry n-1's hash and entry n's canonical JSON (created, actor, action, object
type and id, data). `verify()` recomputes the chain and names the first entry that does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone

from iotmark.model import canonical_json
from iotmark.registry.models import AuditEntry

GENESIS = "0" * 64
# Any constant: PostgreSQL transactions appending to the chain take this advisory lock, so they extend it one
# at a time (SQLite serialises writers itself; the unique prev_hash catches anything that slips through).
_PG_LOCK_KEY = 0x10760A0D17


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    if getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return "anonymous"


def entry_hash(prev_hash: str, created: dt.datetime, actor: str, action: str, object_type: str, object_id: str,
               data: dict[str, Any]) -> str:
    body = canonical_json({"created": created.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
                           "actor": actor, "action": action, "object_type": object_type,
                           "object_id": object_id, "data": data})
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def record(actor: Any, action: str, target: Any, data: dict[str, Any] | None = None,
           object_type: str | None = None) -> AuditEntry:
    """Append one entry. `actor` is a user, a username, or None (host command). `target` is a model instance
    (its class name and pk are recorded) or a string id with `object_type` given. `data` must be JSON-able."""
    if isinstance(target, str):
        object_id, kind = target, object_type or "object"
    else:
        object_id, kind = str(target.pk), object_type or type(target).__name__.lower()
    payload = dict(data or {})
    alias = router.db_for_write(AuditEntry)
    with transaction.atomic(using=alias):
        connection = connections[alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        last = AuditEntry.objects.using(alias).order_by("-id").values_list("hash", flat=True).first()
        prev = last or GENESIS
        created = timezone.now()
        # Round-trip through JSON so the hash covers exactly what the database will give back.
        payload = json.loads(json.dumps(payload, default=str))
        name = _actor_name(actor)[:150]
        digest = entry_hash(prev, created, name, action, kind[:100], object_id[:200], payload)
        return AuditEntry.objects.using(alias).create(created=created, actor=name, action=action[:100],
                                                      object_type=kind[:100], object_id=object_id[:200],
                                                      data=payload, prev_hash=prev, hash=digest)


@dataclass
class ChainReport:
    entries: int
    ok: bool
    head: str = GENESIS  # hash of the last verified entry: keep it elsewhere to detect a cut-off tail
    first_bad: int | None = None  # id of the first entry that does not verify
    reason: str = ""


def verify(batch: int = 2000) -> ChainReport:
    """Recompute the chain from the first entry; stop at the first mismatch."""
    prev, count, last_id = GENESIS, 0, 0
    while True:
        rows = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            return ChainReport(count, True, prev)
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(count, False, prev, row.pk, "entry does not follow the one before it (an entry was "
                                                         "removed, inserted or reordered)")
            expected = entry_hash(prev, row.created, row.actor, row.action, row.object_type, row.object_id, row.data)
            if expected != row.hash:
                return ChainReport(count, False, prev, row.pk, "entry content changed after it was written")
            prev, count, last_id = row.hash, count + 1, row.pk


def verify_against_head(expected_head: str, batch: int = 2000) -> ChainReport:
    """Verify the chain and that a head hash kept elsewhere earlier is still in it: an intact chain that no
    longer contains that entry has lost its tail (or was rebuilt)."""
    report = verify(batch)
    expected = expected_head.strip().lower()
    if not report.ok or expected == report.head:
        return report
    if expected == GENESIS or AuditEntry.objects.filter(hash=expected).exists():
        return report  # the log has grown since the head was noted
    return ChainReport(report.entries, False, report.head, None,
                       f"the expected head {expected[:16]}\u2026 is not in the log: entries after "
                       f"{report.head[:16]}\u2026 were removed (the tail was cut off) or the log was rebuilt")
