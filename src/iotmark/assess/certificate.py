"""Ed25519 issuer keys, signed certificates, revocation lists and verification.

Certificates are written as canonical JSON (sorted keys, no whitespace) plus one newline, and verification
insists on exactly that form. So a one-byte change anywhere in the file is caught: either a signed field
changed (signature fails) or the bytes are no longer canonical (rejected as altered).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from iotmark.inputs import MAX_DEPTH, InputError, JsonInputError, describe_validation_error, load_json_bytes, read_bytes
from iotmark.model import Assessment, Certificate, canonical_json, sha256_hex

PRIVATE_NAME = "issuer.key"
PUBLIC_NAME = "issuer.pub"
REVOCATIONS_NAME = "revocations.json"
SIGNATURE_RE = re.compile(r"^[0-9a-f]{128}$")


class CertificateError(ValueError):
    """A certificate cannot be issued or a key cannot be used; one line for the user."""


def _crypto():
    # cryptography is imported lazily: `iotmark --version` must stay fast.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


def key_id(public_key) -> str:
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_hex(raw)[:16]


def init_keys(directory: Path, force: bool = False) -> tuple[Path, Path, str]:
    """Create an Ed25519 issuer key pair; the private key file is created with mode 0600."""
    serialization, ed25519 = _crypto()
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if private_path.exists() and not force:
        raise CertificateError(f"{private_path}: a key already exists (use --force to replace it)")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if private_path.exists():
        private_path.unlink()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = key.public_key()
    public_path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path, key_id(public)


def load_private_key(path: Path):
    serialization, ed25519 = _crypto()
    data = read_bytes(path, 64 * 1024)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CertificateError(f"{path}: private key is accessible to other users (mode {stat.S_IMODE(mode):o}); run chmod 600")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CertificateError(f"{path}: not a PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise CertificateError(f"{path}: expected an Ed25519 private key")
    return key


def load_public_key(path: Path):
    serialization, ed25519 = _crypto()
    data = read_bytes(path, 64 * 1024)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InputError(f"{path}: not a PEM public key") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise InputError(f"{path}: expected an Ed25519 public key")
    return key


def certificate_id(assessment_digest: str, issued: dt.date) -> str:
    return f"iotm-{issued:%Y%m%d}-{assessment_digest[:16]}"


def issue_certificate(
    assessment: Assessment,
    private_key_path: Path,
    *,
    issuer: str,
    verify_base_url: str,
    support_end: dt.date | None,
    summary: list[str] | None = None,
    today: dt.date | None = None,
) -> Certificate:
    """Sign a certificate for an assessment; expiry is capped at the declared end of support."""
    today = today or dt.date.today()
    if assessment.level < 1:
        raise CertificateError("the assessment reached no certification level; there is nothing to certify")
    if support_end is None:
        raise CertificateError("the device has no declared end of support (target.support_until or the declaration's "
                               "support_period_end); a certificate cannot outlive an unknown support period")
    if support_end <= today:
        raise CertificateError(f"declared support ended on {support_end.isoformat()}; no certificate can be issued")
    key = load_private_key(private_key_path)
    expires = min(today + dt.timedelta(days=assessment.device_class.certificate_validity_days), support_end)
    digest = assessment.digest()
    cert = Certificate(
        id=certificate_id(digest, today),
        target=assessment.target,
        device_class=assessment.device_class.id,
        standard=assessment.standard,
        standard_version=assessment.standard_version,
        level=assessment.level,
        level_name=assessment.level_name,
        meets_class=assessment.meets_class,
        assessment_digest=digest,
        bundle_digest=assessment.bundle_digest,
        summary=(summary or [])[:5],
        issued=today,
        expires=expires,
        issuer=issuer,
        key_id=key_id(key.public_key()),
        verify_url="",
    )
    cert.verify_url = f"{verify_base_url.rstrip('/')}/verify/{cert.id}"
    cert.signature = key.sign(cert.signed_payload()).hex()
    return cert


def certificate_bytes(cert: Certificate) -> bytes:
    return canonical_json(cert.model_dump(mode="json", by_alias=True)) + b"\n"


def write_certificate(cert: Certificate, path: Path) -> None:
    path.write_bytes(certificate_bytes(cert))


@dataclass
class VerifyResult:
    valid: bool
    reason: str
    certificate: Certificate | None = None


def read_certificate(path: Path) -> tuple[Certificate, bytes]:
    raw = read_bytes(path, 1024 * 1024)
    try:
        data = load_json_bytes(raw, max_bytes=None, max_depth=MAX_DEPTH)
    except JsonInputError:
        raise InputError(f"{path}: not a JSON certificate") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    try:
        return Certificate.model_validate(data), raw
    except ValidationError as exc:
        raise InputError(describe_validation_error(path, exc)) from None


def _signature_ok(public_key, signature: str, payload: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(bytes.fromhex(signature), payload)
    except (InvalidSignature, ValueError):
        return False
    return True


def _revoked(revocations: Path, trusted: dict[str, object], cert_id: str) -> tuple[str, str] | None:
    raw = read_bytes(revocations, 16 * 1024 * 1024)
    try:
        data = load_json_bytes(raw, max_bytes=None, max_depth=MAX_DEPTH)
        entries = data["revoked"]
        signer = trusted.get(data["issuer_key_id"])
        signature = data["signature"]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{revocations}: not an iotmark revocation list") from None
    if signer is None:
        raise InputError(f"{revocations}: signed by key {data.get('issuer_key_id')}, which is not trusted")
    unsigned = {k: v for k, v in data.items() if k != "signature"}
    if not isinstance(signature, str) or not _signature_ok(signer, signature, canonical_json(unsigned)):
        raise InputError(f"{revocations}: revocation list signature does not verify")
    for entry in entries:
        if entry.get("id") == cert_id:
            return entry.get("date", "?"), entry.get("reason", "no reason given")
    return None


def verify_certificate(
    path: Path,
    public_keys: list[Path],
    revocations: Path | None = None,
    today: dt.date | None = None,
) -> VerifyResult:
    """Check form, signature, trusted key, validity dates and revocation. Raises InputError on unusable input."""
    today = today or dt.date.today()
    cert, raw = read_certificate(path)
    trusted = {key_id(k): k for k in (load_public_key(p) for p in public_keys)}
    if raw != certificate_bytes(cert):
        return VerifyResult(False, "altered: the file is not in the canonical form it was signed in", cert)
    if not cert.signature or not SIGNATURE_RE.match(cert.signature):
        return VerifyResult(False, "altered: the signature field is missing or malformed", cert)
    public = trusted.get(cert.key_id)
    if public is None:
        return VerifyResult(False, f"unknown key: signed by key {cert.key_id}, which is not among the trusted keys", cert)
    if not _signature_ok(public, cert.signature, cert.signed_payload()):
        return VerifyResult(False, "tampered: the signature does not match the certificate's content", cert)
    if revocations is not None:
        hit = _revoked(revocations, trusted, cert.id)
        if hit:
            return VerifyResult(False, f"revoked on {hit[0]}: {hit[1]}", cert)
    if today < cert.issued:
        return VerifyResult(False, f"not yet valid: issued for {cert.issued.isoformat()}", cert)
    if today > cert.expires:
        return VerifyResult(False, f"expired on {cert.expires.isoformat()}", cert)
    return VerifyResult(True, f"valid until {cert.expires.isoformat()}: level {cert.level} ({cert.level_name}) "
                              f"for {cert.target.label}", cert)


def revoke(keys_dir: Path, cert_id: str, reason: str, today: dt.date | None = None) -> Path:
    """Add a certificate to the issuer's signed revocation list (keys_dir/revocations.json)."""
    today = today or dt.date.today()
    key = load_private_key(keys_dir / PRIVATE_NAME)
    path = keys_dir / REVOCATIONS_NAME
    entries: list[dict[str, str]] = []
    if path.exists():
        trusted = {key_id(key.public_key()): key.public_key()}
        _revoked(path, trusted, "")  # validates the existing list before we extend it
        entries = json.loads(path.read_bytes())["revoked"]
    if not any(e["id"] == cert_id for e in entries):
        entries.append({"id": cert_id, "reason": reason, "date": today.isoformat()})
    body = {"schema": "iotmark-revocations/1", "issuer_key_id": key_id(key.public_key()), "revoked": entries}
    body["signature"] = key.sign(canonical_json(body)).hex()
    path.write_bytes(canonical_json(body) + b"\n")
    return path
