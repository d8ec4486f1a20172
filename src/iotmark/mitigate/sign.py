"""Sign and verify MUD files as CMS (PKCS#7) detached signatures, DER encoded (RFC 8520 section 13).

Signing uses `cryptography`'s PKCS7SignatureBuilder. `cryptography` has no public CMS verifier, so
`verify_detached` parses the SignedData with a small bounded DER reader and checks it with cryptography
primitives: the content digest against the message-digest attribute, the signature over the signed
attributes, and the signer certificate's chain to a trusted CA now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

MAX_SIGNATURE_BYTES = 256 * 1024
MAX_CHAIN = 4

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
DIGESTS = {"2.16.840.1.101.3.4.2.1": ("sha256", hashes.SHA256), "2.16.840.1.101.3.4.2.2": ("sha384", hashes.SHA384),
           "2.16.840.1.101.3.4.2.3": ("sha512", hashes.SHA512)}
RSA_SIGNATURES = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13"}
ECDSA_SIGNATURES = {"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"}


class SignatureInvalid(ValueError):
    """The detached signature does not verify; the message says which check failed."""


def sign_detached(content: bytes, cert: x509.Certificate, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    """A DER CMS SignedData over `content`, without the content (detached), signed with SHA-256."""
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]  # Binary: no CRLF rewriting
    return (pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(cert, key, hashes.SHA256())
            .sign(serialization.Encoding.DER, options))


# --- a bounded DER reader: just what SignedData needs ---------------------------------------------------------

@dataclass(frozen=True)
class _Tlv:
    tag: int
    buf: bytes
    start: int  # first byte of the header
    body: int  # first byte of the value
    end: int

    @property
    def value(self) -> bytes:
        return self.buf[self.body:self.end]

    @property
    def encoded(self) -> bytes:
        return self.buf[self.start:self.end]

    def children(self) -> list["_Tlv"]:
        items, pos = [], self.body
        while pos < self.end:
            item = _read(self.buf, pos, self.end)
            items.append(item)
            pos = item.end
            if len(items) > 1024:
                raise SignatureInvalid("too many DER elements")
        return items


def _read(buf: bytes, pos: int, limit: int) -> _Tlv:
    if pos + 2 > limit:
        raise SignatureInvalid("truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    if tag & 0x1F == 0x1F:
        raise SignatureInvalid("high tag numbers are not used in CMS SignedData")
    head = pos + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise SignatureInvalid("indefinite length (BER) is not DER")
    else:
        count = first & 0x7F
        if count > 4 or head + count > limit:
            raise SignatureInvalid("bad DER length")
        length = int.from_bytes(buf[head:head + count], "big")
        head += count
    if head + length > limit:
        raise SignatureInvalid("DER element runs past its container")
    return _Tlv(tag, buf, pos, head, head + length)


def _oid(tlv: _Tlv) -> str:
    if tlv.tag != 0x06 or not tlv.value:
        raise SignatureInvalid("expected an OID")
    data = tlv.value
    arcs, value = [], 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _expect(tlv: _Tlv, tag: int, what: str) -> _Tlv:
    if tlv.tag != tag:
        raise SignatureInvalid(f"malformed SignedData: {what}")
    return tlv


# --- verification ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedSignature:
    """What a good signature tells: who signed, when they said they did, with which digest."""

    signer: str
    digest: str
    signing_time: dt.datetime | None


def _parse_time(tlv: _Tlv) -> dt.datetime:
    text = tlv.value.decode("ascii", "replace")
    fmt = "%y%m%d%H%M%SZ" if tlv.tag == 0x17 else "%Y%m%d%H%M%SZ"
    try:
        return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise SignatureInvalid("unreadable signing time") from None


def _check_chain(signer: x509.Certificate, pool: list[x509.Certificate], trusted: list[x509.Certificate],
                 at: dt.datetime) -> None:
    current = signer
    for _ in range(MAX_CHAIN + 1):
        if not current.not_valid_before_utc <= at <= current.not_valid_after_utc:
            raise SignatureInvalid(f"certificate {current.subject.rfc4514_string()} not valid at {at.isoformat()}")
        for anchor in trusted:
            if anchor.subject == current.issuer:
                try:
                    current.verify_directly_issued_by(anchor)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return
        issuers = [c for c in pool if c.subject == current.issuer and c != current]
        nxt = None
        for cand in issuers:
            try:
                current.verify_directly_issued_by(cand)
            except (ValueError, TypeError, InvalidSignature):
                continue
            try:
                is_ca = cand.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            except x509.ExtensionNotFound:
                is_ca = False
            if is_ca:
                nxt = cand
                break
        if nxt is None:
            raise SignatureInvalid("signer certificate does not chain to a trusted certificate")
        current = nxt
    raise SignatureInvalid("certificate chain too long")


def verify_detached(content: bytes, signature: bytes, trusted: list[x509.Certificate],
                    now: dt.datetime | None = None) -> VerifiedSignature:
    """Verify a DER CMS detached signature over `content`; raise SignatureInvalid saying what failed."""
    try:
        return _verify(content, signature, trusted, now)
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, SignatureInvalid):
            raise
        raise SignatureInvalid(f"malformed signature: {type(exc).__name__}") from None


def _verify(content: bytes, signature: bytes, trusted: list[x509.Certificate],
            now: dt.datetime | None) -> VerifiedSignature:
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise SignatureInvalid(f"signature file over {MAX_SIGNATURE_BYTES} bytes")
    if not trusted:
        raise SignatureInvalid("no trusted certificate given")
    root = _read(signature, 0, len(signature))
    if root.end != len(signature):
        raise SignatureInvalid("trailing bytes after the signature")
    info = _expect(root, 0x30, "ContentInfo").children()
    if len(info) != 2 or _oid(info[0]) != OID_SIGNED_DATA:
        raise SignatureInvalid("not a CMS SignedData")
    signed = _expect(_expect(info[1], 0xA0, "content").children()[0], 0x30, "SignedData").children()
    if len(signed) < 4:
        raise SignatureInvalid("malformed SignedData")
    encap = _expect(signed[2], 0x30, "encapContentInfo").children()
    if _oid(encap[0]) != OID_DATA:
        raise SignatureInvalid("signed content type is not id-data")
    if len(encap) > 1:
        raise SignatureInvalid("signature carries its content; a detached signature was expected")
    certs: list[x509.Certificate] = []
    rest = signed[3:]
    for item in rest[:-1]:
        if item.tag == 0xA0:
            for cert_tlv in item.children():
                try:
                    certs.append(x509.load_der_x509_certificate(cert_tlv.encoded))
                except ValueError:
                    raise SignatureInvalid("unreadable certificate in the signature") from None
    signer_infos = _expect(rest[-1], 0x31, "signerInfos").children()
    if len(signer_infos) != 1:
        raise SignatureInvalid(f"expected one signer, found {len(signer_infos)}")
    fields = _expect(signer_infos[0], 0x30, "SignerInfo").children()
    if len(fields) < 5:
        raise SignatureInvalid("malformed SignerInfo")
    sid = fields[1]
    if sid.tag != 0x30:
        raise SignatureInvalid("signer identified by key id; only issuer and serial are supported")
    issuer_tlv, serial_tlv = sid.children()[:2]
    serial = int.from_bytes(_expect(serial_tlv, 0x02, "serial").value, "big", signed=True)
    signer = next((c for c in certs if c.serial_number == serial
                   and c.issuer.public_bytes() == issuer_tlv.encoded), None)
    if signer is None:
        raise SignatureInvalid("signer certificate not included in the signature")
    digest_oid = _oid(_expect(fields[2], 0x30, "digestAlgorithm").children()[0])
    if digest_oid not in DIGESTS:
        raise SignatureInvalid(f"digest algorithm {digest_oid} not accepted")
    digest_name, hash_cls = DIGESTS[digest_oid]
    attrs = fields[3]
    if attrs.tag != 0xA0:
        raise SignatureInvalid("no signed attributes; RFC 8520 signatures carry them")
    found: dict[str, _Tlv] = {}
    for attr in attrs.children():
        parts = _expect(attr, 0x30, "attribute").children()
        oid = _oid(parts[0])
        if oid in found:
            raise SignatureInvalid(f"attribute {oid} appears twice")
        values = _expect(parts[1], 0x31, "attribute values").children()
        if len(values) != 1:
            raise SignatureInvalid(f"attribute {oid} must have one value")
        found[oid] = values[0]
    if OID_CONTENT_TYPE not in found or _oid(found[OID_CONTENT_TYPE]) != OID_DATA:
        raise SignatureInvalid("content-type attribute missing or not id-data")
    if OID_MESSAGE_DIGEST not in found:
        raise SignatureInvalid("message-digest attribute missing")
    if _expect(found[OID_MESSAGE_DIGEST], 0x04, "message digest").value != hashlib.new(digest_name, content).digest():
        raise SignatureInvalid("content does not match the signed digest (file changed after signing)")
    signing_time = _parse_time(found[OID_SIGNING_TIME]) if OID_SIGNING_TIME in found else None
    algorithm = _oid(_expect(fields[4], 0x30, "signatureAlgorithm").children()[0])
    sig_value = _expect(fields[5], 0x04, "signature").value if len(fields) > 5 else b""
    # The signature covers the DER of the attributes as a SET OF, not with their [0] IMPLICIT tag.
    to_verify = b"\x31" + attrs.encoded[1:]
    public = signer.public_key()
    try:
        if algorithm in RSA_SIGNATURES and isinstance(public, rsa.RSAPublicKey):
            public.verify(sig_value, to_verify, padding.PKCS1v15(), hash_cls())
        elif algorithm in ECDSA_SIGNATURES and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(sig_value, to_verify, ec.ECDSA(hash_cls()))
        else:
            raise SignatureInvalid(f"signature algorithm {algorithm} does not fit the signer's key")
    except InvalidSignature:
        raise SignatureInvalid("signature does not verify with the signer's certificate") from None
    # The signing time is the signer's own claim, so certificates are checked at the time of verification.
    _check_chain(signer, certs, trusted, now or dt.datetime.now(dt.timezone.utc))
    return VerifiedSignature(signer.subject.rfc4514_string(), digest_name, signing_time)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """PEM or DER certificates from one file."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]
