"""Issuer keys, certificate signing, verification, tampering, expiry, revocation and the verify CLI contract."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from iotmark.assess.certificate import (
    CertificateError,
    init_keys,
    issue_certificate,
    revoke,
    verify_certificate,
    write_certificate,
)
from iotmark.inputs import InputError
from iotmark.model import Assessment, DeviceClass, Target

TODAY = dt.date(2026, 11, 25)


def make_assessment(level: int = 2, support: dt.date | None = dt.date(2030, 6, 30), validity: int = 730) -> Assessment:
    dclass = DeviceClass(id="consumer-low", name="Low-risk consumer device", tier="low", minimum_level=1,
                         certificate_validity_days=validity)
    target = Target(vendor="Northwind", model="SmartPlug P1", firmware_version="1.4.2", device_class="consumer-low",
                    support_until=support)
    return Assessment(target=target, device_class=dclass, standard="etsi-en-303-645", standard_version="2.1.1",
                      verdicts=[], level=level, level_name="Baseline" if level == 1 else "Mandatory",
                      required_level=1, meets_class=level >= 1, bundle_digest="ab" * 32,
                      assessed_at=dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc))


@pytest.fixture()
def keys(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    init_keys(directory)
    return directory


@pytest.fixture()
def cert_file(tmp_path: Path, keys: Path) -> Path:
    assessment = make_assessment()
    cert = issue_certificate(assessment, keys / "issuer.key", issuer="Test Lab", verify_base_url="http://127.0.0.1:8000",
                             support_end=assessment.target.support_until, summary=["Telnet open"], today=TODAY)
    path = tmp_path / "certificate.json"
    write_certificate(cert, path)
    return path


def test_private_key_is_created_owner_only(keys: Path) -> None:
    assert stat.S_IMODE((keys / "issuer.key").stat().st_mode) == 0o600
    assert (keys / "issuer.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_init_refuses_to_overwrite_an_existing_key(keys: Path) -> None:
    with pytest.raises(CertificateError, match="already exists"):
        init_keys(keys)


def test_group_readable_private_key_is_refused(keys: Path) -> None:
    os.chmod(keys / "issuer.key", 0o640)
    with pytest.raises(CertificateError, match="chmod 600"):
        issue_certificate(make_assessment(), keys / "issuer.key", issuer="x", verify_base_url="http://h",
                          support_end=dt.date(2030, 1, 1), today=TODAY)


def test_valid_certificate_verifies(cert_file: Path, keys: Path) -> None:
    result = verify_certificate(cert_file, [keys / "issuer.pub"], today=TODAY)
    assert result.valid, result.reason
    assert result.certificate.level == 2
    assert result.certificate.verify_url == f"http://127.0.0.1:8000/verify/{result.certificate.id}"


def test_expiry_is_validity_when_support_lasts_longer(cert_file: Path, keys: Path) -> None:
    cert = verify_certificate(cert_file, [keys / "issuer.pub"], today=TODAY).certificate
    assert cert.expires == TODAY + dt.timedelta(days=730)


def test_expiry_never_after_declared_end_of_support(keys: Path) -> None:
    support = dt.date(2027, 3, 31)
    cert = issue_certificate(make_assessment(support=support), keys / "issuer.key", issuer="x",
                             verify_base_url="http://h", support_end=support, today=TODAY)
    assert cert.expires == support


def test_no_certificate_without_declared_support(keys: Path) -> None:
    with pytest.raises(CertificateError, match="no declared end of support"):
        issue_certificate(make_assessment(support=None), keys / "issuer.key", issuer="x", verify_base_url="http://h",
                          support_end=None, today=TODAY)


def test_no_certificate_after_support_ended(keys: Path) -> None:
    with pytest.raises(CertificateError, match="support ended on 2026-01-01"):
        issue_certificate(make_assessment(), keys / "issuer.key", issuer="x", verify_base_url="http://h",
                          support_end=dt.date(2026, 1, 1), today=TODAY)


def test_no_certificate_for_level_zero(keys: Path) -> None:
    with pytest.raises(CertificateError, match="no certification level"):
        issue_certificate(make_assessment(level=0), keys / "issuer.key", issuer="x", verify_base_url="http://h",
                          support_end=dt.date(2030, 1, 1), today=TODAY)


def test_every_single_byte_change_fails_verification(cert_file: Path, keys: Path, tmp_path: Path) -> None:
    original = cert_file.read_bytes()
    altered = tmp_path / "altered.json"
    accepted = []
    for position in range(len(original)):
        for delta in (1, 0x20):
            data = bytearray(original)
            data[position] = (data[position] + delta) % 256
            altered.write_bytes(bytes(data))
            try:
                if verify_certificate(altered, [keys / "issuer.pub"], today=TODAY).valid:
                    accepted.append((position, delta))
            except InputError:
                pass  # unusable is also a failure to verify
    assert accepted == []
    assert len(original) > 500


def test_reformatted_certificate_is_reported_as_altered(cert_file: Path, keys: Path) -> None:
    import json

    cert_file.write_text(json.dumps(json.loads(cert_file.read_text()), indent=2))
    result = verify_certificate(cert_file, [keys / "issuer.pub"], today=TODAY)
    assert not result.valid and result.reason.startswith("altered")


def test_expired_certificate(cert_file: Path, keys: Path) -> None:
    result = verify_certificate(cert_file, [keys / "issuer.pub"], today=TODAY + dt.timedelta(days=731))
    assert not result.valid
    assert result.reason == f"expired on {(TODAY + dt.timedelta(days=730)).isoformat()}"


def test_unknown_key(cert_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    init_keys(other)
    result = verify_certificate(cert_file, [other / "issuer.pub"], today=TODAY)
    assert not result.valid and result.reason.startswith("unknown key")


def test_revoked_certificate(cert_file: Path, keys: Path) -> None:
    cert = verify_certificate(cert_file, [keys / "issuer.pub"], today=TODAY).certificate
    crl = revoke(keys, cert.id, "firmware 1.4.2 ships a shared private key", today=TODAY)
    result = verify_certificate(cert_file, [keys / "issuer.pub"], revocations=crl, today=TODAY)
    assert not result.valid
    assert result.reason == "revoked on 2026-11-25: firmware 1.4.2 ships a shared private key"


def test_forged_revocation_list_is_unusable(cert_file: Path, keys: Path) -> None:
    crl = revoke(keys, "iotm-other", "x", today=TODAY)
    crl.write_bytes(crl.read_bytes().replace(b"iotm-other", b"iotm-forge"))
    with pytest.raises(InputError, match="signature does not verify"):
        verify_certificate(cert_file, [keys / "issuer.pub"], revocations=crl, today=TODAY)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iotmark.cli", *args], capture_output=True, text=True, timeout=60)


def test_verify_cli_exit_codes(keys: Path, tmp_path: Path) -> None:
    today = dt.date.today()  # the CLI checks validity against the real date
    support = today + dt.timedelta(days=1000)
    cert = issue_certificate(make_assessment(support=support), keys / "issuer.key", issuer="Test Lab",
                             verify_base_url="http://127.0.0.1:8000", support_end=support, today=today)
    cert_file = tmp_path / "certificate.json"
    write_certificate(cert, cert_file)
    ok = _cli("verify", str(cert_file), "--key", str(keys / "issuer.pub"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("valid:")

    data = bytearray(cert_file.read_bytes())
    index = data.index(b"SmartPlug")
    data[index] = ord("X")
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(bytes(data))
    bad = _cli("verify", str(tampered), "--key", str(keys / "issuer.pub"))
    assert bad.returncode == 1
    assert bad.stdout.strip() == "NOT valid: tampered: the signature does not match the certificate's content"

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    unusable = _cli("verify", str(garbage), "--key", str(keys / "issuer.pub"))
    assert unusable.returncode == 2
    assert unusable.stderr.strip() == f"error: {garbage}: not a JSON certificate"
    assert "Traceback" not in unusable.stderr
