"""Secrets in an image: private keys (PEM, OpenSSH, PKCS#8, DER, Dropbear host keys), certificates
(expired, weak key, self-signed) and API tokens; values are always masked (issue 4 part 6)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from iotmark.collect.base import make_finding
from iotmark.collect.hostkeys import spki_sha256, ssh_public_key_sha256
from iotmark.collect.firmware.corpus import Corpus, evidence, mask
from iotmark.model import Finding

log = logging.getLogger(__name__)

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,40})-----(.{1,20000}?)-----END \1-----", re.S)
# A real PEM body: optional RFC 1421 headers (Proc-Type, DEK-Info), then base64 lines; format strings
# in binaries that merely mention the BEGIN/END markers do not match.
PEM_BODY = re.compile(rb"\s*(?:[A-Za-z-]{1,40}: [^\r\n]{0,200}\r?\n)*\s*[A-Za-z0-9+/=\s]{40,}")
DER_MAX = 16 * 1024
MAX_KEYS = 1000
MAX_CERTS_PER_FILE = 200


@functools.lru_cache(maxsize=1)
def secret_rules() -> dict[str, Any]:
    """Token patterns, key labels and limits (data/secrets.yaml)."""
    raw = yaml.safe_load(resources.files("iotmark.collect.firmware").joinpath("data/secrets.yaml").read_text("utf-8"))
    raw["compiled"] = [(t["name"], re.compile(t["pattern"])) for t in raw["tokens"]]
    raw["dropbear_magic"] = [len(n).to_bytes(4, "big") + n.encode() for n in raw["dropbear_key_types"]]
    return raw


@dataclass
class KeyHit:
    path: str
    offset: int
    type: str
    sha256: str
    bits: int | None = None
    excerpt: str = ""


@dataclass
class CertHit:
    path: str
    offset: int
    cert: x509.Certificate
    in_bundle: bool


def _key_description(key: Any) -> tuple[str, int | None]:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}", key.key_size
    if isinstance(key, dsa.DSAPrivateKey | dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    return type(key).__name__, None


def _public_fingerprint(key: Any) -> str:
    """sha256 of the public key's SubjectPublicKeyInfo: the same key in PEM, DER or another file matches."""
    return spki_sha256(key.public_key())


def _ssh_strings(data: bytes, count: int) -> list[bytes]:
    """The first `count` SSH strings (uint32 length + bytes) of `data`, each with its length prefix."""
    fields, at = [], 0
    for _ in range(count):
        size = int.from_bytes(data[at:at + 4], "big")
        if at + 4 + size > len(data):
            raise ValueError("truncated SSH string")
        fields.append(data[at:at + 4 + size])
        at += 4 + size
    return fields


def dropbear_public_blob(data: bytes) -> bytes:
    """The SSH wire-format public key inside a Dropbear host key file; raises ValueError if malformed.

    Dropbear writes the public fields first (RSA: e, n; DSS: p, q, g, y; ECDSA: curve, point), then the
    private ones; an Ed25519 file holds one 64-byte string, the 32-byte seed followed by the public key."""
    name = _ssh_strings(data, 1)[0]
    kind = name[4:]
    if kind == b"ssh-ed25519":
        pair = _ssh_strings(data, 2)[1][4:]
        if len(pair) != 64:
            raise ValueError("Ed25519 Dropbear key is not 64 bytes")
        return name + (32).to_bytes(4, "big") + pair[32:]
    public_fields = {b"ssh-rsa": 3, b"ssh-dss": 5}.get(kind, 3 if kind.startswith(b"ecdsa-sha2-") else 0)
    if not public_fields:
        raise ValueError(f"unknown Dropbear key type {kind[:40]!r}")
    return b"".join(_ssh_strings(data, public_fields))


@dataclass
class SecretScanner:
    """Collects keys and certificates file by file during the single pass over the root."""

    keys: list[KeyHit] = field(default_factory=list)
    certs: list[CertHit] = field(default_factory=list)

    def scan(self, rel: str, data: bytes) -> None:
        """Look for PEM blocks anywhere in `data`, and for DER or Dropbear keys in small binary files."""
        if len(self.keys) >= MAX_KEYS:
            return
        if b"-----BEGIN " in data:
            self._scan_pem(rel, data)
        elif len(data) <= DER_MAX:
            self._scan_binary_key(rel, data)

    def _scan_pem(self, rel: str, data: bytes) -> None:
        rules = secret_rules()
        blocks = list(PEM_BLOCK.finditer(data))
        cert_blocks = [b for b in blocks if b.group(1) == b"CERTIFICATE"]
        bundle = len(cert_blocks) > rules["bundle_threshold"]
        for block in blocks:
            if not PEM_BODY.fullmatch(block.group(2)):
                continue
            label = block.group(1).decode()
            if label in rules["private_key_labels"]:
                self._add_pem_key(rel, block.start(), label, block.group(0))
            elif label == "CERTIFICATE" and len(self.certs) < MAX_CERTS_PER_FILE * 10 and not bundle:
                try:
                    cert = x509.load_pem_x509_certificate(block.group(0))
                except ValueError:
                    continue
                self.certs.append(CertHit(rel, block.start(), cert, bundle))

    def _add_pem_key(self, rel: str, offset: int, label: str, pem: bytes) -> None:
        body = re.sub(rb"[^A-Za-z0-9+/=]", b"", pem.split(b"-----", 2)[2].rsplit(b"-----END", 1)[0])
        excerpt = f"-----BEGIN {label}----- {body[:4].decode()}…(masked)"
        kind, bits = label.replace(" PRIVATE KEY", "") or "PKCS#8", None
        try:
            if label == "OPENSSH PRIVATE KEY":
                key = serialization.load_ssh_private_key(pem, password=None)
            else:
                key = serialization.load_pem_private_key(pem, password=None)
            kind, bits = _key_description(key)
            digest = _public_fingerprint(key)
        except (ValueError, TypeError, UnsupportedAlgorithm):  # encrypted or unsupported: hash the body
            try:
                digest = hashlib.sha256(base64.b64decode(body)).hexdigest()
            except binascii.Error:
                digest = hashlib.sha256(body).hexdigest()
        self.keys.append(KeyHit(rel, offset, f"{kind} ({label})", digest, bits, excerpt))

    def _scan_binary_key(self, rel: str, data: bytes) -> None:
        for magic in secret_rules()["dropbear_magic"]:
            if data.startswith(magic):
                name = magic[4:].decode()
                try:  # the public part's SPKI hash, comparable with PEM keys and with a probed host key
                    _kind, digest = ssh_public_key_sha256(dropbear_public_blob(data))
                except ValueError:  # damaged or unsupported: still a key in the image, hash the file
                    digest = hashlib.sha256(data).hexdigest()
                self.keys.append(KeyHit(rel, 0, f"Dropbear host key ({name})", digest,
                                        None, f"{name} key blob, {len(data)} bytes (masked)"))
                return
        if data[:2] == b"\x30\x82" and len(data) >= 64:
            try:
                key = serialization.load_der_private_key(data, password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm):  # most 0x30 0x82 files are not keys
                return
            kind, bits = _key_description(key)
            self.keys.append(KeyHit(rel, 0, f"{kind} (DER)", _public_fingerprint(key), bits,
                                    f"DER {kind} private key, {len(data)} bytes (masked)"))

    # ------------------------------------------------------------ findings

    def fingerprints(self) -> list[dict[str, str]]:
        """{"path", "type", "sha256"} of every private key found, for comparing keys across a fleet."""
        return [{"path": "/" + k.path, "type": k.type, "sha256": k.sha256} for k in self.keys]

    def findings(self, corpus: Corpus, now: dt.datetime | None = None) -> list[Finding]:
        """Private key, certificate and token findings; secrets.reviewed passes when none was found."""
        now = now or dt.datetime.now(dt.timezone.utc)
        out: list[Finding] = []
        for key in self.keys:
            size = f", {key.bits} bits" if key.bits else ""
            out.append(make_finding(
                "firmware.secrets.private_key", "fail",
                f"{key.type}{size} private key in the image (public key sha256 {key.sha256[:16]}…). Every device "
                "running this image shares it, so one extracted copy impersonates or decrypts all of them.",
                title=f"Private key in /{key.path}",
                evidence=evidence(corpus, key.path, offset=key.offset, excerpt=key.excerpt, sha256=key.sha256)))
        for hit in self.certs:
            out += _certificate_findings(corpus, hit, now)
        out += token_findings(corpus)
        if not any(f.check in ("firmware.secrets.private_key", "firmware.secrets.token") for f in out):
            out.append(make_finding(
                "firmware.secrets.reviewed", "pass",
                f"No private key (PEM, OpenSSH, PKCS#8, DER, Dropbear) or API token found in the "
                f"{len(corpus.paths) - len(corpus.skipped)} files examined.",
                evidence=evidence(corpus, "")))
        return out


def _certificate_findings(corpus: Corpus, hit: CertHit, now: dt.datetime) -> list[Finding]:
    cert = hit.cert
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        is_ca = False
    if is_ca:
        return []  # trust anchors are self-signed by design and outlive their use
    subject = cert.subject.rfc4514_string()[:120] or "(empty subject)"
    ev = evidence(corpus, hit.path, offset=hit.offset, excerpt=f"subject={subject}",
                  not_after=cert.not_valid_after_utc.isoformat(), serial=format(cert.serial_number, "x")[:40])
    out = []
    if cert.not_valid_after_utc < now:
        out.append(make_finding("firmware.certificates.expired", "fail",
                                f"Certificate {subject} expired on {cert.not_valid_after_utc:%Y-%m-%d}.",
                                title=f"Expired certificate in /{hit.path}", evidence=ev))
    public = cert.public_key()
    kind, bits = _key_description(public)
    limits = secret_rules()["min_bits"]
    limit = limits["rsa"] if kind == "RSA" else limits["dsa"] if kind == "DSA" else limits["ec"] if kind.startswith("EC") else 0
    if bits is not None and bits < limit:
        out.append(make_finding("firmware.certificates.weak_key", "fail",
                                f"Certificate {subject} has a {bits}-bit {kind} key (at least {limit} expected).",
                                title=f"Weak {kind} key in certificate /{hit.path}", evidence=ev))
    if cert.issuer == cert.subject:
        try:
            cert.verify_directly_issued_by(cert)
            signed_by_itself = True
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):  # not signed by its own key
            signed_by_itself = False
        if signed_by_itself:
            out.append(make_finding("firmware.certificates.self_signed", "fail",
                                    f"Certificate {subject} is self-signed; clients cannot tell this device's "
                                    "certificate from any other unit's or an attacker's copy.",
                                    title=f"Self-signed certificate in /{hit.path}", evidence=ev))
    return out


def token_findings(corpus: Corpus) -> list[Finding]:
    """API tokens and cloud keys in text files, masked."""
    out = []
    for rel, text in corpus.texts.items():
        if rel.startswith(("usr/share/doc/", "usr/share/man/")):
            continue
        for name, pattern in secret_rules()["compiled"]:
            for m in pattern.finditer(text):
                value = m.group(1)
                number = text.count("\n", 0, m.start()) + 1
                line = text.splitlines()[number - 1] if text else ""
                out.append(make_finding(
                    "firmware.secrets.token", "fail", f"{name} {mask(value)} in /{rel}.",
                    title=f"{name} in /{rel}",
                    evidence=evidence(corpus, rel, line=number, excerpt=line.replace(value, mask(value)))))
    return out
