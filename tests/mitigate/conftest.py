"""Fixtures shared by the mitigate tests: a small CA and a MUD signer certificate made with cryptography."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Northwind Devices"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(subject: str, key, issuer_name: x509.Name | None, issuer_key, ca: bool,
              days: int = 30) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name or _name(subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="session")
def mud_pki():
    """(ca_cert, signer_cert, signer_key, other_ca_cert): an EC signer under an RSA CA, plus an unrelated CA."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = make_cert("Northwind MUD CA", ca_key, None, ca_key, ca=True)
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = make_cert("Northwind MUD signer", signer_key, ca.subject, ca_key, ca=False)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = make_cert("Someone else CA", other_key, None, other_key, ca=True)
    return ca, signer, signer_key, other


@pytest.fixture
def pki_files(tmp_path, mud_pki):
    """The test PKI as PEM files: {"signer", "key", "ca", "other"} → path."""
    from cryptography.hazmat.primitives import serialization

    ca, signer, key, other = mud_pki
    paths = {name: tmp_path / f"{name}.pem" for name in ("signer", "key", "ca", "other")}
    paths["signer"].write_bytes(signer.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["other"].write_bytes(other.public_bytes(serialization.Encoding.PEM))
    return paths
