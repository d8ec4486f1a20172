"""Private keys, certificates and tokens; values always masked; key fingerprints for fleet comparison."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from iotmark.collect.firmware.analysis import analyse_root
from iotmark.collect.firmware.corpus import Corpus
from iotmark.collect.firmware.fsview import RootView
from iotmark.collect.firmware.secrets import SecretScanner, dropbear_public_blob, token_findings
from iotmark.collect.hostkeys import spki_sha256, ssh_public_key_sha256
from rootfs_builders import rsa_key


def _checks(analysis, prefix):
    return sorted((f.check, f.evidence.path) for f in analysis.findings if f.check.startswith(prefix))


def test_weak_root_private_keys_pem_and_dropbear(weak):
    assert _checks(weak, "firmware.secrets.") == [
        ("firmware.secrets.private_key", "/etc/dropbear/dropbear_rsa_host_key"),
        ("firmware.secrets.private_key", "/etc/ssl/private/server.key"),
    ]
    pem = next(f for f in weak.findings if f.evidence.path == "/etc/ssl/private/server.key")
    assert pem.evidence.offset == 0
    assert pem.evidence.excerpt.startswith("-----BEGIN RSA PRIVATE KEY----- MIIE") and pem.evidence.excerpt.endswith("(masked)")
    assert len(pem.evidence.excerpt) < 60


def test_weak_root_certificate_expired_weak_and_self_signed(weak):
    assert _checks(weak, "firmware.certificates.") == [
        ("firmware.certificates.expired", "/etc/ssl/certs/device.crt"),
        ("firmware.certificates.self_signed", "/etc/ssl/certs/device.crt"),
        ("firmware.certificates.weak_key", "/etc/ssl/certs/device.crt"),
    ]
    weak_key = next(f for f in weak.findings if f.check == "firmware.certificates.weak_key")
    assert weak_key.detail == "Certificate CN=router.local has a 1024-bit RSA key (at least 2048 expected)."


def test_key_fingerprints_match_across_images_sharing_a_key(weak, twin_root):
    twin = analyse_root(RootView(twin_root), image_name="twin.bin")
    shared = {fp["sha256"] for fp in weak.key_fingerprints} & {fp["sha256"] for fp in twin.key_fingerprints}
    assert len(shared) == 1
    assert [fp["path"] for fp in twin.key_fingerprints] == ["/etc/uhttpd.key"]
    assert {fp["type"] for fp in weak.key_fingerprints} == {"RSA (RSA PRIVATE KEY)", "Dropbear host key (ssh-rsa)"}


def test_clean_root_public_key_and_expired_ca_are_not_findings(clean):
    assert _checks(clean, "firmware.certificates.") == []
    assert [(f.check, f.outcome) for f in clean.findings if f.check.startswith("firmware.secrets.")] == [
        ("firmware.secrets.reviewed", "pass")]
    assert clean.key_fingerprints == []


def test_marker_strings_in_a_binary_are_not_a_key(debian_packages):
    data = (debian_packages["dropbear-bin:armhf"] / "usr/bin/dropbearconvert").read_bytes()
    assert b"-----BEGIN" in data
    scanner = SecretScanner()
    scanner.scan("usr/bin/dropbearconvert", data)
    assert scanner.keys == []


def test_der_pkcs8_and_openssh_keys_are_found_with_one_fingerprint_per_key():
    key = rsa_key(2048)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    openssh = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    scanner = SecretScanner()
    scanner.scan("etc/key.der", der)
    scanner.scan("usr/bin/app", b"\x7fELF" + b"\x00" * 100 + pkcs8 + b"\x00")
    scanner.scan("root/.ssh/id_ed25519", openssh)
    assert [(k.path, k.type, k.offset) for k in scanner.keys] == [
        ("etc/key.der", "RSA (DER)", 0),
        ("usr/bin/app", "RSA (PRIVATE KEY)", 104),
        ("root/.ssh/id_ed25519", "Ed25519 (OPENSSH PRIVATE KEY)", 0),
    ]
    assert scanner.keys[0].sha256 == scanner.keys[1].sha256


def test_tokens_are_masked():
    texts = {"etc/cloud.conf": 'region=eu\naws_key=AKIAABCDEFGHIJKLMNOP\napi_key = "0123456789abcdef0123"\n'}
    found = [(f.evidence.line, f.title, f.evidence.excerpt) for f in token_findings(Corpus(image="x", texts=texts))]
    assert found == [(2, "AWS access key id in /etc/cloud.conf", "aws_key=A***P"),
                     (3, "token assignment in /etc/cloud.conf", 'api_key = "0***3"')]


def test_certificate_expiry_is_judged_at_the_given_time(weak_root):
    scanner = SecretScanner()
    scanner.scan("etc/ssl/certs/device.crt", (weak_root / "etc/ssl/certs/device.crt").read_bytes())
    findings = scanner.findings(Corpus(image="x", paths=["etc/ssl/certs/device.crt"]),
                                now=dt.datetime(2019, 6, 1, tzinfo=dt.timezone.utc))
    assert sorted(f.check for f in findings) == ["firmware.certificates.self_signed", "firmware.certificates.weak_key",
                                                 "firmware.secrets.reviewed"]


def _dropbearkey(kind: str, path: Path) -> str:
    """Generate a host key with the real dropbearkey; return the public line it prints ("ssh-... AAAA... user")."""
    out = subprocess.run(["dropbearkey", "-t", kind, "-f", str(path)], capture_output=True, text=True, check=True)
    return next(line for line in out.stdout.splitlines() if line.startswith(("ssh-", "ecdsa-")))


@pytest.mark.parametrize(("kind", "ssh_type"), [("rsa", "ssh-rsa"), ("ecdsa", "ecdsa-sha2-nistp256"),
                                                ("ed25519", "ssh-ed25519")])
def test_dropbear_key_fingerprint_is_the_spki_hash_of_its_public_key(tmp_path, kind, ssh_type):
    if shutil.which("dropbearkey") is None:
        pytest.skip("dropbearkey (Debian package dropbear-bin) is not installed")
    key_file = tmp_path / f"dropbear_{kind}_host_key"
    public_line = _dropbearkey(kind, key_file)
    public = serialization.load_ssh_public_key(public_line.rsplit(" ", 1)[0].encode())
    scanner = SecretScanner()
    scanner.scan(f"etc/dropbear/{key_file.name}", key_file.read_bytes())
    (hit,) = scanner.keys
    assert hit.type == f"Dropbear host key ({ssh_type})"
    assert hit.sha256 == spki_sha256(public)
    assert ssh_public_key_sha256(dropbear_public_blob(key_file.read_bytes())) == (ssh_type, hit.sha256)


def test_dropbear_key_and_its_openssh_conversion_share_one_fingerprint(tmp_path):
    if shutil.which("dropbearconvert") is None:
        pytest.skip("dropbearconvert (Debian package dropbear-bin) is not installed")
    _dropbearkey("ed25519", tmp_path / "dropbear_ed25519_host_key")
    subprocess.run(["dropbearconvert", "dropbear", "openssh", str(tmp_path / "dropbear_ed25519_host_key"),
                    str(tmp_path / "id_ed25519")], capture_output=True, check=True)
    scanner = SecretScanner()
    scanner.scan("etc/dropbear/dropbear_ed25519_host_key", (tmp_path / "dropbear_ed25519_host_key").read_bytes())
    scanner.scan("root/.ssh/id_ed25519", (tmp_path / "id_ed25519").read_bytes())
    assert [k.type for k in scanner.keys] == ["Dropbear host key (ssh-ed25519)", "Ed25519 (OPENSSH PRIVATE KEY)"]
    assert scanner.keys[0].sha256 == scanner.keys[1].sha256


def test_damaged_dropbear_key_is_still_reported_with_the_file_hash():
    data = (11).to_bytes(4, "big") + b"ssh-ed25519" + (64).to_bytes(4, "big") + b"\x01" * 10
    scanner = SecretScanner()
    scanner.scan("etc/dropbear/dropbear_ed25519_host_key", data)
    assert [(k.type, k.sha256) for k in scanner.keys] == [
        ("Dropbear host key (ssh-ed25519)", hashlib.sha256(data).hexdigest())]
