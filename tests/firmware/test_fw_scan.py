"""The firmware pipeline end to end: `iotmark scan firmware` on real images, partial extraction, fleets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from image_builders import build_squashfs
from iotmark.collect.firmware.scan import FirmwareInputError, scan_fleet, scan_image

REPO = Path(__file__).resolve().parents[2]
SAMPLE_IMAGE = REPO / "examples" / "sample-device" / "firmware.bin"
IOTMARK = [sys.executable, "-m", "iotmark.cli"]


def iotmark(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*IOTMARK, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def sample_scan(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scan") / "out"
    result = iotmark("scan", "firmware", str(SAMPLE_IMAGE), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def _findings(out: Path) -> list[dict]:
    return json.loads((out / "bundle.json").read_text())["findings"]


def test_scan_writes_a_bundle_in_the_collector_shape_with_image_paths(sample_scan: Path) -> None:
    bundle = json.loads((sample_scan / "bundle.json").read_text())
    assert bundle["sources"][0]["kind"] == "firmware"
    assert bundle["sources"][0]["name"] == "firmware.bin"
    assert bundle["findings"], "the sample image yields findings"
    for finding in bundle["findings"]:
        assert {"check", "outcome", "severity", "title", "detail", "evidence", "provisions"} <= set(finding)
        assert finding["check"].startswith("firmware.")
        if finding["outcome"] in ("fail", "pass") and not finding["check"].endswith(".summary"):
            assert finding["evidence"]["path"].startswith("/"), finding


def test_scan_of_the_sample_finds_its_factory_telnet_and_nothing_unextracted(sample_scan: Path) -> None:
    findings = _findings(sample_scan)
    telnet = [f for f in findings if f["check"] == "firmware.services.telnetd" and f["outcome"] == "fail"]
    assert [f["evidence"]["path"] for f in telnet] == ["/etc/init.d/S50factory"]
    assert not [f for f in findings if f["check"].startswith("firmware.unpack.")]
    accounts = [f for f in findings if f["check"] == "firmware.accounts.reviewed"]
    assert [f["outcome"] for f in accounts] == ["pass"]


def test_scan_writes_a_cyclonedx_sbom_that_passes_the_official_schema(sample_scan: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = (sample_scan / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    names = {c["name"] for c in json.loads(text)["components"]}
    assert {"busybox", "dropbear"} <= names


def test_unusable_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    for path, message in ((tmp_path / "missing.bin", "file not found"), (empty, "empty file")):
        result = iotmark("scan", "firmware", str(path), "--out", str(tmp_path / "out"))
        assert result.returncode == 2
        assert result.stderr.strip() == f"error: {path}: {message}"
    assert not (tmp_path / "out").exists()


def test_truncated_image_is_reported_as_not_extracted_never_clean(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(SAMPLE_IMAGE.read_bytes()[: SAMPLE_IMAGE.stat().st_size // 2])
    scan = scan_image(truncated, work_root=tmp_path / "work")
    outcomes = {f.check: f.outcome for f in scan.bundle.findings}
    assert scan.partial
    assert any(check.startswith("firmware.unpack.") for check in outcomes)
    assert "pass" not in {f.outcome for f in scan.bundle.findings if f.check.endswith(".reviewed")}
    assert list((tmp_path / "work").iterdir()) == []  # the throw-away folder is gone


def _image_with_key(tmp_path: Path, name: str, key_pem: bytes, tag: str) -> Path:
    root = tmp_path / f"root-{name}"
    for sub in ("etc/ssl/private", "bin"):
        (root / sub).mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/shadow").write_text("root:*:20000:0:99999:7:::\n")
    (root / "etc/ssl/private/device.key").write_bytes(key_pem)
    (root / "etc/release").write_text(f"MODEL={tag}\n")
    image = tmp_path / "fleet" / f"{name}.bin"
    image.parent.mkdir(exist_ok=True)
    build_squashfs(root, image, comp="gzip")
    shutil.rmtree(root)
    return image


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def test_fleet_flags_a_private_key_shared_between_images_and_only_that_one(tmp_path: Path) -> None:
    shared = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    own = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    images = [_image_with_key(tmp_path, "cam-a", shared, "a"), _image_with_key(tmp_path, "cam-b", shared, "b"),
              _image_with_key(tmp_path, "cam-c", own, "c")]
    scans, errors = scan_fleet(images, workers=2, work_root=tmp_path / "work")
    assert errors == []
    flagged = {s.image.name: [f for f in s.bundle.findings if f.check == "firmware.secrets.shared_private_key"]
               for s in scans}
    assert {name: len(found) for name, found in flagged.items()} == {"cam-a.bin": 1, "cam-b.bin": 1, "cam-c.bin": 0}
    finding = flagged["cam-a.bin"][0]
    assert (finding.outcome, finding.severity, finding.evidence.path) == ("fail", "critical", "/etc/ssl/private/device.key")
    assert "cam-b.bin" in finding.detail
    assert "BEGIN" not in finding.model_dump_json()  # the key itself never appears


def test_fleet_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    key = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    images = [_image_with_key(tmp_path, f"dev-{i}", key, str(i)) for i in range(3)]
    one, _ = scan_fleet(images, workers=1, work_root=tmp_path / "w1")
    two, _ = scan_fleet(images, workers=2, work_root=tmp_path / "w2")
    keys = lambda scans: [sorted(f.key for f in s.bundle.findings) for s in scans]  # noqa: E731
    assert keys(one) == keys(two)


def test_fleet_cli_writes_one_folder_per_image_and_reports_unusable_ones(tmp_path: Path) -> None:
    key = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    _image_with_key(tmp_path, "good", key, "g")
    (tmp_path / "fleet" / "empty.bin").write_bytes(b"")
    result = iotmark("scan", "firmware", str(tmp_path / "fleet"), "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["image"] for row in report["images"]] == ["good.bin"]
    assert report["errors"] == [f"{tmp_path / 'fleet' / 'empty.bin'}: empty file"]
    assert (tmp_path / "out" / "good.bin" / "bundle.json").is_file()
    assert (tmp_path / "out" / "fleet.json").is_file()


def test_scan_image_refuses_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FirmwareInputError, match="not a regular file"):
        scan_image(tmp_path)
    with pytest.raises(FirmwareInputError, match="file not found"):
        scan_image(tmp_path / "nope.bin")
