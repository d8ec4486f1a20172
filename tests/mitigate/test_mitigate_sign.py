"""MUD signatures: CMS detached DER, cross-checked both ways with Debian's `openssl cms`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from iotmark.mitigate.sign import SignatureInvalid, sign_detached, verify_detached

CONTENT = b'{"ietf-mud:mud": {"mud-version": 1}}\n'


def pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_own_signature_verifies(mud_pki):
    ca, signer, key, _ = mud_pki
    result = verify_detached(CONTENT, sign_detached(CONTENT, signer, key), [ca])
    assert result.signer == "CN=Northwind MUD signer,O=Northwind Devices"
    assert result.digest == "sha256"
    assert result.signing_time is not None


def test_changed_content_fails(mud_pki):
    ca, signer, key, _ = mud_pki
    sig = sign_detached(CONTENT, signer, key)
    with pytest.raises(SignatureInvalid, match="content does not match the signed digest"):
        verify_detached(CONTENT.replace(b"1", b"2"), sig, [ca])


def test_untrusted_signer_fails(mud_pki):
    _, signer, key, other = mud_pki
    with pytest.raises(SignatureInvalid, match="does not chain to a trusted certificate"):
        verify_detached(CONTENT, sign_detached(CONTENT, signer, key), [other])


def test_tampered_signature_bytes_fail(mud_pki):
    ca, signer, key, _ = mud_pki
    sig = bytearray(sign_detached(CONTENT, signer, key))
    sig[-10] ^= 0xFF  # inside the ECDSA signature value
    with pytest.raises(SignatureInvalid):
        verify_detached(CONTENT, bytes(sig), [ca])


@pytest.mark.parametrize("cut", [0, 1, 5, 40, 200])
def test_truncated_signature_is_a_clean_error(mud_pki, cut):
    ca, signer, key, _ = mud_pki
    sig = sign_detached(CONTENT, signer, key)
    with pytest.raises(SignatureInvalid):
        verify_detached(CONTENT, sig[:cut], [ca])


def test_random_bytes_are_a_clean_error(mud_pki):
    ca = mud_pki[0]
    for blob in (b"\x30\x80\x00\x00", b"\x30\x84\xff\xff\xff\xff", b"\x06\x00", bytes(range(256))):
        with pytest.raises(SignatureInvalid):
            verify_detached(CONTENT, blob, [ca])


def test_openssl_verifies_our_signature(mud_pki, tmp_path: Path):
    ca, signer, key, _ = mud_pki
    (tmp_path / "mud.json").write_bytes(CONTENT)
    (tmp_path / "mud.p7s").write_bytes(sign_detached(CONTENT, signer, key))
    (tmp_path / "ca.pem").write_bytes(pem(ca))
    run = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", tmp_path / "mud.p7s",
                          "-content", tmp_path / "mud.json", "-CAfile", tmp_path / "ca.pem",
                          "-purpose", "any", "-out", "/dev/null"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert "Verification successful" in run.stderr


def test_we_verify_openssl_signature(mud_pki, tmp_path: Path):
    ca, signer, key, _ = mud_pki
    (tmp_path / "mud.json").write_bytes(CONTENT)
    (tmp_path / "signer.pem").write_bytes(pem(signer))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    run = subprocess.run(["openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", tmp_path / "mud.json",
                          "-signer", tmp_path / "signer.pem", "-inkey", tmp_path / "key.pem",
                          "-out", tmp_path / "mud.p7s", "-md", "sha384"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    result = verify_detached(CONTENT, (tmp_path / "mud.p7s").read_bytes(), [ca])
    assert result.digest == "sha384"
    with pytest.raises(SignatureInvalid, match="content does not match"):
        verify_detached(CONTENT + b" ", (tmp_path / "mud.p7s").read_bytes(), [ca])
