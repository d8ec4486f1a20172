"""What the registry does, independent of HTTP: accounts, trusted keys, certificate upload, revocation, status.

Signature checking is iotmark.assess.certificate's; this module only decides which key to check against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import IntegrityError, InterfaceError, OperationalError, connections, router, transaction
from django.utils import timezone
from pydantic import ValidationError

from iotmark.assess.certificate import key_id, load_public_key, read_certificate, verify_certificate
from iotmark.inputs import InputError, describe_validation_error
from iotmark.model import Assessment, Bundle
from iotmark.registry import audit
from iotmark.registry.publish import (
    MAX_ASSESSMENT_BYTES,
    MAX_BUNDLE_BYTES,
    MAX_CERTIFICATE_BYTES,
    MAX_IDEMPOTENCY_KEY,
)
from iotmark.registry.models import (
    ApiToken,
    Certificate,
    FirmwareVersion,
    IdempotentRequest,
    IssuerKey,
    Member,
    Organisation,
    Product,
    Revocation,
)

MAX_ID_LENGTH = 64
TOKEN_PREFIX = "iotm_"
ROLE_ORGANISATION_KIND = {Member.Role.LAB: Organisation.Kind.LAB, Member.Role.VENDOR: Organisation.Kind.VENDOR,
                          Member.Role.REGULATOR: Organisation.Kind.REGULATOR}


class RegistryError(Exception):
    """A request the registry refuses; `status` is the HTTP status, the message one line for the user."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _atomic():
    return transaction.atomic(using=router.db_for_write(Certificate))


def role_of(user) -> Member | None:
    if user is None or not user.is_authenticated:
        return None
    return Member.objects.select_related("organisation").filter(user=user).first()


def create_user(username: str, password: str | None, role: str, organisation: str | None = None,
                email: str = "", actor=None):
    """A user with a registry role; lab, vendor and regulator users act for an organisation (created if new).
    `actor` is who did it (None: a command on the registry host)."""
    if role not in Member.Role.values:
        raise RegistryError(400, f"unknown role {role!r}; choose one of {', '.join(Member.Role.values)}")
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise RegistryError(409, f"user {username!r} already exists")
    if role != Member.Role.ADMIN and not organisation:
        raise RegistryError(400, f"a {role} user needs an organisation (--org NAME)")
    with _atomic():
        org = None
        if role != Member.Role.ADMIN:
            org = organisation_named(organisation, ROLE_ORGANISATION_KIND[role], actor)
        if role == Member.Role.ADMIN:
            user = User.objects.create_superuser(username=username, email=email, password=password)
        else:
            user = User.objects.create_user(username=username, email=email, password=password)
        Member.objects.create(user=user, role=role, organisation=org)
        audit.record(actor, "user.create", user, {"username": username, "role": role,
                                                  "organisation": org.name if org else None,
                                                  "password_login": password is not None})
    return user


def organisation_named(name: str, kind: str, actor=None) -> Organisation:
    """The organisation of that name, created (and audited) if new; it must be of the given kind."""
    with _atomic():
        org, created = Organisation.objects.get_or_create(name=name, defaults={"kind": kind})
        if created:
            audit.record(actor, "organisation.create", org, {"name": name, "kind": kind})
    if org.kind != kind:
        raise RegistryError(409, f"organisation {name!r} is registered as a {org.kind}, not a {kind}")
    return org


def issue_token(user, name: str = "", actor=None) -> str:
    """A new API token for the user; returned once, stored only as its SHA-256. `actor` defaults to the user."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with _atomic():
        record = ApiToken.objects.create(user=user, name=name[:100], prefix=token[:12], digest=_token_digest(token))
        audit.record(user if actor is None else actor, "token.create", record,
                     {"user": user.get_username(), "name": record.name, "prefix": record.prefix})
    return token


def tokens_of(user) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("-created", "-id"))


def revoke_token(token: ApiToken, actor=None) -> ApiToken:
    """Stop a token from working; revoking twice is refused so the log shows one revocation."""
    with _atomic():
        locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if locked.revoked:
            raise RegistryError(409, f"token {locked.prefix}… is already revoked")
        locked.revoked = True
        locked.save(update_fields=["revoked"])
        audit.record(actor, "token.revoke", locked, {"user": locked.user.get_username(), "prefix": locked.prefix})
    return locked


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_for_token(token: str):
    """The active user a bearer token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = ApiToken.objects.select_related("user").filter(digest=_token_digest(token), revoked=False).first()
    if found is None or not found.user.is_active:
        return None
    ApiToken.objects.filter(pk=found.pk).update(last_used=timezone.now())
    return found.user


def trust_key(public_key_pem: bytes, organisation: str, trusted: bool = True, actor=None) -> IssuerKey:
    """Register (or re-trust) a lab's Ed25519 public key under the lab organisation."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "issuer.pub"
        path.write_bytes(public_key_pem)
        try:
            kid = key_id(load_public_key(path))
        except InputError as exc:
            raise RegistryError(400, str(exc).replace(str(path), "public key")) from None
    with _atomic():
        org = organisation_named(organisation, Organisation.Kind.LAB, actor)
        key, created = IssuerKey.objects.get_or_create(
            key_id=kid, defaults={"organisation": org, "public_key_pem": public_key_pem.decode("ascii"),
                                  "trusted": trusted})
        if not created:
            if key.organisation_id != org.pk:
                raise RegistryError(409, f"key {kid} is already registered to {key.organisation.name}")
            if key.trusted == trusted:
                return key
            key.trusted = trusted
            key.save(update_fields=["trusted"])
        audit.record(actor, "key.trust" if trusted else "key.distrust", key,
                     {"key_id": kid, "organisation": org.name, "new": created})
    return key


def _lab_member(user) -> Member:
    member = role_of(user)
    if member is None or member.role != Member.Role.LAB or member.organisation is None:
        raise RegistryError(403, "only lab assessors can upload or revoke certificates")
    return member


def upload_certificate(user, certificate_json: str, assessment_json: str,
                       today: dt.date | None = None, bundle_json: str | None = None) -> tuple[Certificate, bool]:
    """Check and store a signed certificate and its assessment (and, optionally, the evidence bundle);
    returns (record, created).

    The signature must verify against a trusted key of the uploader's own lab, the certificate must be valid
    today, the assessment must be the one the certificate's digest names, and a bundle must be the one the
    assessment's bundle digest names. Uploading the same certificate again returns the stored record unchanged.
    """
    member = _lab_member(user)
    raw = certificate_json.encode("utf-8")
    if len(raw) > MAX_CERTIFICATE_BYTES:
        raise RegistryError(413, f"certificate is larger than {MAX_CERTIFICATE_BYTES // 1024} KiB")
    if len(assessment_json.encode("utf-8")) > MAX_ASSESSMENT_BYTES:
        raise RegistryError(413, f"assessment is larger than {MAX_ASSESSMENT_BYTES // (1024 * 1024)} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        path, public = Path(tmp) / "certificate.json", Path(tmp) / "issuer.pub"
        path.write_bytes(raw)
        try:
            cert, _ = read_certificate(path)
        except InputError as exc:
            raise RegistryError(400, str(exc).replace(str(path), "certificate")) from None
        key = IssuerKey.objects.select_related("organisation").filter(key_id=cert.key_id).first()
        if key is None or not key.trusted:
            raise RegistryError(422, f"unknown key: the certificate is signed by key {cert.key_id}, "
                                     "which is not a trusted issuer key in this registry")
        if key.organisation_id != member.organisation_id:
            raise RegistryError(403, f"key {cert.key_id} belongs to {key.organisation.name}; "
                                     f"you upload for {member.organisation.name}")
        public.write_text(key.public_key_pem, encoding="ascii")
        result = verify_certificate(path, [public], today=today)
    if not result.valid:
        raise RegistryError(422, f"certificate rejected: {result.reason}")
    try:
        assessment = Assessment.model_validate_json(assessment_json)
    except ValidationError as exc:
        raise RegistryError(400, describe_validation_error("assessment", exc)) from None
    if assessment.digest() != cert.assessment_digest:
        raise RegistryError(422, "the assessment is not the one this certificate was issued for (digests differ)")
    bundle_json = _checked_bundle(bundle_json, assessment) if bundle_json else ""
    existing = Certificate.objects.filter(cert_id=cert.id).first()
    if existing is not None:
        if existing.document == certificate_json:
            return existing, False
        raise RegistryError(409, f"a different certificate with id {cert.id} is already registered")
    target = cert.target
    try:
        with _atomic():
            vendor = organisation_named(target.vendor, Organisation.Kind.VENDOR, user)
            product, _ = Product.objects.get_or_create(vendor=vendor, model=target.model,
                                                       defaults={"device_class": cert.device_class})
            firmware, _ = FirmwareVersion.objects.get_or_create(
                product=product, version=target.firmware_version,
                defaults={"hardware_version": target.hardware_version or "", "support_until": target.support_until})
            record = Certificate.objects.create(
                cert_id=cert.id, firmware=firmware, issuer_key=key, issuer=cert.issuer,
                device_class=cert.device_class, standard=cert.standard, standard_version=cert.standard_version,
                level=cert.level, level_name=cert.level_name, meets_class=cert.meets_class, issued=cert.issued,
                expires=cert.expires, summary=list(cert.summary), assessment_digest=cert.assessment_digest,
                document=certificate_json, assessment=assessment_json, bundle=bundle_json, uploaded_by=user)
            _forget_now_and_at_commit(cert.id)
            audit.record(user, "certificate.upload", record, {
                "cert_id": cert.id, "vendor": vendor.name, "model": product.model, "firmware": firmware.version,
                "level": cert.level, "key_id": cert.key_id, "with_bundle": bool(bundle_json),
                "document_sha256": hashlib.sha256(raw).hexdigest()}, object_type="certificate")
    except IntegrityError:
        raise RegistryError(409, f"certificate {cert.id} was registered by a concurrent upload") from None
    return record, True


def _checked_bundle(bundle_json: str, assessment: Assessment) -> str:
    """The evidence bundle, if it is the one the assessment was made from (its content digest)."""
    if len(bundle_json.encode("utf-8")) > MAX_BUNDLE_BYTES:
        raise RegistryError(413, f"evidence bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB")
    try:
        bundle = Bundle.model_validate_json(bundle_json)
    except ValidationError as exc:
        raise RegistryError(400, describe_validation_error("bundle", exc)) from None
    if bundle.digest() != assessment.bundle_digest:
        raise RegistryError(422, "the evidence bundle is not the one this assessment was made from (digests differ)")
    return bundle_json


def _stored_answer(user, key: str, body_sha256: str) -> tuple[int, dict] | None:
    found = IdempotentRequest.objects.filter(user=user, key=key).first()
    if found is None:
        return None
    if found.body_sha256 != body_sha256:
        raise RegistryError(422, f"idempotency key {key!r} was already used for a different request; use a new key "
                                 "for a new upload")
    return found.status, found.response


def upload_idempotently(user, key: str, body_sha256: str, certificate_json: str, assessment_json: str,
                        answer: Callable[[Certificate, bool], tuple[int, dict]],
                        bundle_json: str | None = None) -> tuple[int, dict]:
    """upload_certificate under a client's Idempotency-Key: the first request's answer (from `answer`) is stored
    with the certificate in one transaction; the same key and body later get that answer again, the same key
    with another body a 422."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise RegistryError(400, f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters")
    stored = _stored_answer(user, key, body_sha256)
    if stored is not None:
        return stored
    try:
        with _atomic():
            record, created = upload_certificate(user, certificate_json, assessment_json, bundle_json=bundle_json)
            status, body = answer(record, created)
            with _atomic():
                IdempotentRequest.objects.create(user=user, key=key, body_sha256=body_sha256, status=status,
                                                 response=body)
        return status, body
    except (RegistryError, IntegrityError):
        # A concurrent request with the same key may have committed first: answer as it did.
        stored = _stored_answer(user, key, body_sha256)
        if stored is not None:
            return stored
        raise


def revoke_certificate(user, cert_id: str, reason: str, today: dt.date | None = None) -> Certificate:
    """Revoke a certificate; only its issuing lab's assessors (or an admin, user=None from the CLI) may."""
    record = Certificate.objects.select_related("issuer_key").filter(cert_id=cert_id).first()
    if user is not None:
        member = role_of(user)
        is_admin = member is not None and member.role == Member.Role.ADMIN
        if not is_admin:
            member = _lab_member(user)
            if record is not None and record.issuer_key.organisation_id != member.organisation_id:
                raise RegistryError(403, "only the lab that issued a certificate can revoke it")
    if record is None:
        raise RegistryError(404, f"no certificate with id {cert_id} is registered")
    reason = reason.strip()
    if not reason:
        raise RegistryError(400, "a revocation needs a reason")
    if hasattr(record, "revocation"):
        raise RegistryError(409, f"certificate {cert_id} was already revoked on {record.revocation.date.isoformat()}")
    try:
        with _atomic():
            _forget_now_and_at_commit(cert_id)
            revocation = Revocation.objects.create(certificate=record, reason=reason[:1000],
                                                   date=today or dt.date.today(), revoked_by=user)
            audit.record(user, "certificate.revoke", record, {"cert_id": cert_id, "reason": revocation.reason,
                                                              "date": revocation.date.isoformat()},
                         object_type="certificate")
    except IntegrityError:
        raise RegistryError(409, f"certificate {cert_id} was revoked by a concurrent request") from None
    return record


@dataclass
class Facts:
    """The fields of a stored certificate a status is decided and shown from."""

    vendor: str
    model: str
    firmware_version: str
    support_until: dt.date | None
    issuer: str
    standard: str
    level: int
    level_name: str
    device_class: str
    issued: dt.date
    expires: dt.date
    known_issues: list[str]
    revoked_on: dt.date | None = None
    revocation_reason: str | None = None


@dataclass
class Status:
    """What a buyer needs to know about a certificate id."""

    cert_id: str
    status: str  # valid | expired | revoked | unknown
    summary: str
    certificate: Certificate | None = None  # the record, from certificate_status (pages use it)
    revocation: Revocation | None = None
    facts: Facts | None = None  # None when the id names no stored certificate


UNKNOWN_SUMMARY = ("This registry has no certificate with this id. The label may be forged or copied from another "
                   "product; do not rely on it.")


def _decide(cert_id: str, facts: Facts | None, today: dt.date) -> Status:
    if facts is None:
        return Status(cert_id, "unknown", UNKNOWN_SUMMARY)
    device = f"{facts.vendor} {facts.model} (firmware {facts.firmware_version})"
    if facts.revoked_on is not None:
        reason = (facts.revocation_reason or "").rstrip(".")
        return Status(cert_id, "revoked", f"The certificate for the {device} was revoked on "
                                          f"{facts.revoked_on.isoformat()}: {reason}. Do not rely on its label.",
                      facts=facts)
    if today < facts.issued:
        return Status(cert_id, "unknown", f"The certificate for the {device} only takes effect on "
                                          f"{facts.issued.isoformat()}.", facts=facts)
    if today > facts.expires:
        return Status(cert_id, "expired", f"The certificate for the {device} expired on "
                                          f"{facts.expires.isoformat()}. The device may no longer get "
                                          "security updates; its label is out of date.", facts=facts)
    support = (f" The maker has promised security updates until {facts.support_until.isoformat()}."
               if facts.support_until else "")
    return Status(cert_id, "valid", f"The {device} was tested by {facts.issuer} against {facts.standard} and "
                                    f"reached level {facts.level} ({facts.level_name}). The certificate is valid "
                                    f"until {facts.expires.isoformat()}.{support}", facts=facts)


def certificate_status(cert_id: str, today: dt.date | None = None) -> Status:
    """The status with the stored record and its revocation attached (for pages that show more of it)."""
    record = None
    if len(cert_id) <= MAX_ID_LENGTH:
        record = (Certificate.objects.select_related("firmware__product__vendor", "revocation")
                  .filter(cert_id=cert_id).first())
    if record is None:
        return _decide(cert_id, None, today or dt.date.today())
    firmware, revocation = record.firmware, getattr(record, "revocation", None)
    facts = Facts(firmware.product.vendor.name, firmware.product.model, firmware.version, firmware.support_until,
                  record.issuer, record.standard, record.level, record.level_name, record.device_class,
                  record.issued, record.expires, list(record.summary),
                  revocation.date if revocation else None, revocation.reason if revocation else None)
    status = _decide(cert_id, facts, today or dt.date.today())
    status.certificate, status.revocation = record, revocation
    return status


# The public verify answer is the registry's busiest request: one hand-written query (the ORM's query compilation
# costs thirty times the query itself) over the columns the answer needs, none of the large documents. On
# PostgreSQL, planning this five-table join takes ten times as long as running it (0.5 ms against 0.05 ms), so each
# connection prepares it once and then only executes it.
_FACTS_SQL = (
    "SELECT o.name, p.model, f.version, f.support_until, c.issuer, c.standard, c.level, c.level_name, "
    "c.device_class, c.issued, c.expires, c.summary, r.date, r.reason "
    "FROM registry_certificate c "
    "JOIN registry_firmwareversion f ON f.id = c.firmware_id "
    "JOIN registry_product p ON p.id = f.product_id "
    "JOIN registry_organisation o ON o.id = p.vendor_id "
    "LEFT JOIN registry_revocation r ON r.certificate_id = c.id "
    "WHERE c.cert_id = %s"
)


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


_FACTS_STATEMENT = "iotmark_verify_facts"
_PREPARE_FACTS = f"PREPARE {_FACTS_STATEMENT}(text) AS {_FACTS_SQL.replace('%s', '$1')}"
_EXECUTE_FACTS = f"EXECUTE {_FACTS_STATEMENT}(%s)"
# The database connections (psycopg's, below Django's wrapper) on which the statement is prepared: a prepared
# statement belongs to the session and outlives transactions, rolled back or not, so once per connection is enough.
_prepared_on: weakref.WeakSet = weakref.WeakSet()


def _query_facts_row(wrapper, cert_id: str) -> tuple | None:
    if wrapper.vendor != "postgresql":
        with wrapper.cursor() as cursor:
            cursor.execute(_FACTS_SQL, [cert_id])
            return cursor.fetchone()
    # psycopg's own cursor: Django's wrapper around it costs as much Python time as the query.
    import psycopg

    with wrapper.wrap_database_errors:
        wrapper.ensure_connection()
        session = wrapper.connection
        with session.cursor() as cursor:
            if session not in _prepared_on:
                cursor.execute(_PREPARE_FACTS)
                _prepared_on.add(session)
            try:
                cursor.execute(_EXECUTE_FACTS, [cert_id])
            except psycopg.errors.InvalidSqlStatementName:
                # The session lost it (DISCARD ALL, or a pooler that hands each transaction another session).
                if wrapper.in_atomic_block:
                    raise
                cursor.execute(_PREPARE_FACTS)
                cursor.execute(_EXECUTE_FACTS, [cert_id])
            return cursor.fetchone()


def _fetch_facts_row(cert_id: str) -> tuple | None:
    """The facts row, without Django's per-request connection health check (a SELECT 1 round trip that costs as
    much as the query): if a kept connection turns out to be broken (the database restarted, the session was
    ended), it is closed and the query asked once more on a new one, which is what the check would have done."""
    wrapper = connections[router.db_for_read(Certificate)]
    if wrapper.in_atomic_block:  # a failed query cannot be retried inside the caller's transaction
        return _query_facts_row(wrapper, cert_id)
    wrapper.health_check_done = True
    try:
        return _query_facts_row(wrapper, cert_id)
    except (OperationalError, InterfaceError):
        wrapper.close()
        return _query_facts_row(wrapper, cert_id)


def _stored_facts(cert_id: str) -> Facts | None:
    if len(cert_id) > MAX_ID_LENGTH:
        return None
    row = _fetch_facts_row(cert_id)
    if row is None:
        return None
    issues = json.loads(row[11]) if isinstance(row[11], (str, bytes)) else row[11]
    return Facts(row[0], row[1], row[2], _as_date(row[3]), row[4], row[5], row[6], row[7], row[8],
                 _as_date(row[9]), _as_date(row[10]), list(issues or []), _as_date(row[12]), row[13])


def verify_status(cert_id: str, today: dt.date | None = None) -> Status:
    """The same status as certificate_status, from one query, without the record (for the verify API)."""
    return _decide(cert_id, _stored_facts(cert_id), today or dt.date.today())


# The verify API answers the label's QR code, the registry's busiest request. Each server process keeps what it read
# for a few seconds (the status itself is decided afresh on every request, so expiry shows at once); an upload or
# revocation clears its entry in the process that made it, and other processes see it within VERIFY_CACHE_SECONDS.
VERIFY_CACHE_SECONDS = 5.0
_VERIFY_CACHE_LIMIT = 20_000
_verify_cache: dict[str, tuple[float, Facts | None]] = {}


def forget_verify_answers(cert_id: str | None = None) -> None:
    """Drop one certificate's cached facts (or all of them)."""
    if cert_id is None:
        _verify_cache.clear()
    else:
        _verify_cache.pop(cert_id, None)


def _forget_now_and_at_commit(cert_id: str) -> None:
    forget_verify_answers(cert_id)
    transaction.on_commit(lambda: forget_verify_answers(cert_id), using=router.db_for_write(Certificate))


def verify_status_cached(cert_id: str, today: dt.date | None = None) -> Status:
    """verify_status, reading the database at most once per VERIFY_CACHE_SECONDS per certificate id."""
    now = time.monotonic()
    hit = _verify_cache.get(cert_id)
    if hit is not None and hit[0] > now:
        facts = hit[1]
    else:
        facts = _stored_facts(cert_id)
        if len(_verify_cache) >= _VERIFY_CACHE_LIMIT:
            _verify_cache.clear()
        _verify_cache[cert_id] = (now + VERIFY_CACHE_SECONDS, facts)
    return _decide(cert_id, facts, today or dt.date.today())
