"""Consumer label: SVG content, PNG output and a QR code that decodes to the verify URL."""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from iotmark.assess.label import render_label_png, render_label_svg
from iotmark.model import Assessment, Certificate, DeviceClass, LevelResult, Target

SVG_NS = "{http://www.w3.org/2000/svg}"
VERIFY_URL = "https://verify.iotmark.example/c/IOTM-2025-000123"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_certificate(**overrides) -> Certificate:
    fields = dict(
        id="IOTM-2025-000123",
        target=Target(vendor="Acme Connected Home", model="CamPro 200 Überwachung", firmware_version="2.4.1",
                      device_class="consumer-camera", support_until=dt.date(2027, 6, 30)),
        device_class="consumer-camera",
        standard="etsi-en-303-645",
        standard_version="2.1.1",
        level=3,
        level_name="Hardened",
        meets_class=True,
        assessment_digest="d" * 64,
        bundle_digest="b" * 64,
        summary=[
            "Telnet is switched off and remote logins need a unique password.",
            "<script>alert(1)</script> & \"quotes\" stay text",
            "Two libraries have known flaws that the vendor has promised to fix in the next update of the firmware",
            "This fourth line must not appear",
        ],
        issued=dt.date(2025, 6, 1),
        expires=dt.date(2026, 12, 31),
        issuer="iotmark test CA",
        key_id="test-key-1",
        verify_url=VERIFY_URL,
        signature="c2lnbmF0dXJl",
    )
    fields.update(overrides)
    return Certificate(**fields)


def make_assessment(cert: Certificate) -> Assessment:
    return Assessment(
        target=cert.target,
        device_class=DeviceClass(id="consumer-camera", name="Consumer camera", tier="moderate", minimum_level=2),
        standard=cert.standard, standard_version=cert.standard_version, verdicts=[],
        level=cert.level, level_name=cert.level_name, required_level=2, meets_class=True,
        levels=[LevelResult(level=n, name=f"L{n}", reached=n <= 3) for n in (1, 2, 3, 4)],
        bundle_digest=cert.bundle_digest, assessed_at=dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc),
    )


@pytest.fixture
def certificate() -> Certificate:
    return make_certificate()


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    return [el.text or "" for el in root.iter(f"{SVG_NS}text")]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    return struct.unpack(">II", data[16:24])


def test_label_svg_is_xml_of_the_agreed_size(certificate):
    root = ET.fromstring(render_label_svg(certificate).encode("utf-8"))
    assert root.tag == f"{SVG_NS}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("400", "560", "0 0 400 560")


def test_label_shows_level_of_max_when_assessment_given(certificate):
    lines = texts(render_label_svg(certificate, make_assessment(certificate)))
    assert "Level 3 of 4" in lines and "Hardened" in lines


def test_label_shows_bare_level_without_assessment(certificate):
    assert "Level 3" in texts(render_label_svg(certificate))


def test_label_shows_device_and_dates(certificate):
    lines = texts(render_label_svg(certificate))
    assert "iotmark" in lines
    assert "Acme Connected Home CamPro 200 Überwachung" in lines
    assert "Firmware 2.4.1" in lines
    assert lines[lines.index("Security updates until") + 1] == "2027-06-30"
    assert lines[lines.index("Certificate valid until") + 1] == "2026-12-31"


def test_updates_date_falls_back_to_certificate_expiry():
    target = make_certificate().target.model_copy(update={"support_until": None})
    lines = texts(render_label_svg(make_certificate(target=target)))
    assert lines[lines.index("Security updates until") + 1] == "2026-12-31"


def test_label_lists_at_most_three_issues_escaped_and_fitted(certificate):
    svg = render_label_svg(certificate)
    assert "<script>" not in svg
    lines = texts(svg)
    start = lines.index("Top issues") + 1
    issues = lines[start:lines.index("Scan to verify this label")]
    assert issues == [
        "Telnet is switched off and remote logins need a",
        "unique password.",
        "<script>alert(1)</script> & \"quotes\" stay text",
        "Two libraries have known flaws that the vendor",
        "has promised to fix in the next update of the\u2026",
    ]
    assert not any("fourth" in line for line in lines)


def test_label_strips_control_and_bidi_characters():
    target = make_certificate().target.model_copy(update={"vendor": "Evil\u202eCorp\x07"})
    svg = render_label_svg(make_certificate(target=target, summary=["bad\x00line"]))
    lines = texts(svg)  # parsing would fail on \x00 or \x07
    assert "Evil Corp CamPro 200 Überwachung" not in lines  # the override is removed, not replaced by a space
    assert "EvilCorp CamPro 200 Überwachung" in lines
    assert "bad line" in lines


def test_device_name_shrinks_to_fit_then_is_cut_with_an_ellipsis(certificate):
    root = ET.fromstring(render_label_svg(certificate).encode("utf-8"))
    (device,) = [el for el in root.iter(f"{SVG_NS}text") if (el.text or "").startswith("Acme")]
    assert (device.text, device.get("font-size")) == ("Acme Connected Home CamPro 200 Überwachung", "11")
    target = certificate.target.model_copy(update={"model": "X" * 200})
    line = next(t for t in texts(render_label_svg(make_certificate(target=target))) if t.startswith("Acme"))
    assert line == "Acme Connected Home " + "X" * 19 + "\u2026"


def test_unsigned_certificate_says_so_on_the_label():
    assert "NOT SIGNED: not a valid label" in texts(render_label_svg(make_certificate(signature=None)))


def test_label_has_an_accessible_title_and_description(certificate):
    root = ET.fromstring(render_label_svg(certificate).encode("utf-8"))
    assert root.get("role") == "img"
    desc = root.find(f"{SVG_NS}desc").text
    assert "Level 3, Hardened" in desc and "Security updates until 2027-06-30" in desc and VERIFY_URL in desc


def test_label_png_has_signature_and_scaled_size(certificate):
    assert png_size(render_label_png(certificate)) == (800, 1120)
    assert png_size(render_label_png(certificate, scale=1.0)) == (400, 560)


def test_label_qr_code_decodes_to_the_verify_url(tmp_path, certificate):
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg not installed: apt-get install zbar-tools")
    png = tmp_path / "label.png"
    png.write_bytes(render_label_png(certificate, make_assessment(certificate)))
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == VERIFY_URL
