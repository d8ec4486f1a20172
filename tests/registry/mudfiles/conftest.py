"""Fixtures of the MUD file tests: a vendor PKI (CA, signing certificate under it, an unrelated CA), a product of
the sample vendor, and MUD files built with iotmark.mitigate.mud for the URL the registry serves them at."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest

PUBLIC_BASE = "https://mud.registry.example"


def _certificate(common_name: str, key, issuer=None, issuer_key=None, ca: bool = False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Northwind Devices"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or key, hashes.SHA256()))


@dataclass
class VendorPki:
    ca_pem: bytes
    other_ca_pem: bytes
    signer_pem: bytes
    key_pem: bytes
    signer: object
    key: object

    def sign(self, content: bytes) -> bytes:
        from iotmark.mitigate.sign import sign_detached

        return sign_detached(content, self.signer, self.key)


@pytest.fixture(scope="session")
def vendor_pki() -> VendorPki:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = serialization.Encoding.PEM
    ca_key, signer_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("Northwind MUD CA", ca_key, ca=True)
    signer = _certificate("Northwind MUD signer", signer_key, ca, ca_key)
    other = _certificate("Unrelated CA", other_key, ca=True)
    key_pem = signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return VendorPki(ca.public_bytes(pem), other.public_bytes(pem), signer.public_bytes(pem), key_pem,
                     signer, signer_key)


@pytest.fixture
def public_base(monkeypatch) -> str:
    """The registry's public https address, as an operator sets it behind a TLS proxy."""
    monkeypatch.setenv("IOTMARK_REGISTRY_URL", PUBLIC_BASE)
    return PUBLIC_BASE


@pytest.fixture
def product(vendor):
    """The SmartPlug P1 of Northwind Devices (the vendor fixture's organisation)."""
    from iotmark.registry.models import Product
    from iotmark.registry.services import role_of

    return Product.objects.create(vendor=role_of(vendor.user).organisation, model="SmartPlug P1",
                                  device_class="consumer-general")


def mud_bytes(url: str, manufacturer: str = "Northwind Devices", model: str = "SmartPlug P1",
              cache_validity: int = 24) -> bytes:
    """A real MUD file for a plug that talks HTTPS to its cloud and NTP, built by iotmark.mitigate.mud."""
    from iotmark.mitigate.mud import Endpoint, build_mud

    endpoints = [Endpoint("cloud.northwind.example", "tcp", 443), Endpoint("pool.ntp.org", "udp", 123)]
    mud = build_mud(mud_url="https://placeholder.example/mud.json", endpoints=endpoints, manufacturer=manufacturer,
                    model=model, cache_validity=cache_validity,
                    last_update=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    mud["ietf-mud:mud"]["mud-url"] = url  # build_mud wants https; the served test registry is plain http
    return json.dumps(mud, indent=2).encode()


@pytest.fixture(scope="session")
def make_mud():
    """make_mud(url, manufacturer=..., model=..., cache_validity=...) -> the bytes of a real MUD file."""
    return mud_bytes


@pytest.fixture
def served_url(public_base, product) -> str:
    return f"{public_base}/mud/{product.vendor_id}/smartplug-p1.json"
