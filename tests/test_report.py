"""Report renderers: each format from the same realistic bundle, assessment and certificate."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import sys
import uuid
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from iotmark.model import (
    Assessment,
    Bundle,
    Certificate,
    Component,
    DeviceClass,
    Evidence,
    EvidenceSource,
    Finding,
    LevelResult,
    Target,
    Verdict,
    VerdictValue,
)
from iotmark.report import FORMATS, ReportError, render
from iotmark.report import html as html_report
from iotmark.report import json_report, oscal, pdf, sarif, vex

DATA = Path(__file__).parent / "data"
HOSTILE = "<script>alert(1)</script>"
UTC = dt.timezone.utc


# ---------------------------------------------------------------- fixtures: one realistic device


def make_target(**overrides) -> Target:
    fields = dict(
        vendor="Acme Connected Home",
        model="CamPro 200 Überwachung",
        firmware_version="2.4.1",
        hardware_version="rev C",
        device_class="consumer-camera",
        support_until=dt.date(2027, 6, 30),
        description="Indoor Wi-Fi camera with cloud recording.",
    )
    fields.update(overrides)
    return Target(**fields)


def make_findings() -> dict[str, Finding]:
    return {
        "shadow": Finding(
            check="firmware.accounts.empty_password", outcome="fail", severity="critical",
            title="Account root has an empty password", detail="Anyone on the network can log in as root.",
            evidence=Evidence(path="/etc/shadow", line=1, excerpt="root::19000:0:99999:7:::", source="campro-2.4.1.bin",
                              hash_kind="empty"),
            provisions=["5.1-1"], kind="firmware",
        ),
        "telnet": Finding(
            check="probe.telnet.open", outcome="fail", severity="high", title="Telnet service answers on port 23",
            evidence=Evidence(address="192.0.2.10", port=23, protocol="tcp", banner="BusyBox v1.24.1 (2019-03-01) built-in shell\ncam login:"),
            provisions=["5.1-1", "5.6-1"], kind="probe", confidence=0.95,
        ),
        "openssl": Finding(
            check="firmware.components.known_vulnerable", outcome="fail", severity="high",
            title="OpenSSL 1.1.1j is affected by CVE-2021-3449", detail="A crafted renegotiation crashes the TLS server.",
            evidence=Evidence(path="/usr/lib/libssl.so.1.1"), provisions=["5.3-2"], kind="firmware", confidence=0.9,
            cve=["CVE-2021-3449"], component="pkg:generic/openssl@1.1.1j",
        ),
        "busybox": Finding(
            check="firmware.components.known_vulnerable", outcome="fail", severity="medium",
            title="BusyBox 1.24.1 may be affected by CVE-2022-28391", evidence=Evidence(path="/bin/busybox"),
            provisions=["5.3-2"], kind="firmware", confidence=0.5, cve=["CVE-2022-28391"], component="busybox",
        ),
        "hostile": Finding(
            check="probe.http.admin_page", outcome="fail", severity="medium",
            title=f"{HOSTILE} admin page without login",
            detail='Page title was "<img src=x onerror=alert(2)>"',
            evidence=Evidence(address="2001:db8::7", port=80, protocol="http", path="/cgi-bin/<x>",
                              banner="Server: lighttpd/1.4.59\r\nX-Note: <iframe src=//evil>"),
            provisions=["5.5-1"], kind="probe",
        ),
        "key": Finding(
            check="firmware.secrets.private_key", outcome="fail", severity="low",
            title="Privater Schlüssel im Image gefunden (clé privée)",
            evidence=Evidence(path="/etc/ssl/private/clé.pem", offset=4096, excerpt="-----BEGIN PRIVATE KEY----- ****"),
            provisions=["5.4-1"], kind="firmware",
        ),
        "tls": Finding(
            check="probe.tls.weak_ciphers", outcome="not_tested", severity="info",
            title="TLS ciphers not tested", detail="No TLS port was open during the probe.",
            provisions=["5.5-1"], kind="probe",
        ),
        "update": Finding(
            check="firmware.update.signature", outcome="error", severity="medium",
            title="Update signature check failed to run", detail="The unpacker stopped on update.bin: truncated header.",
            evidence=Evidence(path="/firmware/update.bin"), provisions=["5.3-3"], kind="firmware",
        ),
        "aslr": Finding(
            check="firmware.hardening.aslr", outcome="pass", severity="info", title="Binaries are position independent",
            evidence=Evidence(path="/usr/bin/camd"), provisions=["5.6-2"], kind="firmware",
        ),
        "disclosure": Finding(
            check="declaration.disclosure.policy", outcome="fail", severity="medium",
            title="No vulnerability disclosure policy published",
            evidence=Evidence(source="declaration.yaml", line=12), provisions=["5.2-1"],
            kind="declaration", assessment="conceptual",
        ),
    }


@pytest.fixture
def findings() -> dict[str, Finding]:
    return make_findings()


@pytest.fixture
def bundle(findings) -> Bundle:
    collected = dt.datetime(2025, 5, 30, 9, 0, tzinfo=UTC)
    return Bundle(
        target=make_target(),
        findings=list(findings.values()),
        components=[
            Component(name="openssl", version="1.1.1j", purl="pkg:generic/openssl@1.1.1j",
                      cpe="cpe:2.3:a:openssl:openssl:1.1.1j:*:*:*:*:*:*:*", supplier="OpenSSL Project"),
            Component(name="busybox", version="1.24.1", purl="pkg:generic/busybox@1.24.1"),
            Component(name="lighttpd", version="1.4.59"),
        ],
        sources=[
            EvidenceSource(kind="firmware", name="campro-2.4.1.bin", sha256="a" * 64, collected_at=collected, tool="iotmark-unpack 0.1"),
            EvidenceSource(kind="probe", name="192.0.2.10", sha256="b" * 64, collected_at=collected + dt.timedelta(hours=1)),
            EvidenceSource(kind="declaration", name="declaration.yaml", sha256="c" * 64, collected_at=collected),
        ],
        created=dt.datetime(2025, 5, 31, 12, 0, tzinfo=UTC),
    )


@pytest.fixture
def assessment(bundle, findings) -> Assessment:
    f = findings
    verdicts = [
        Verdict(provision="etsi-en-303-645:5.1-1", status="M", verdict=VerdictValue.FAIL,
                reason="A universal default password is accepted.", findings=[f["shadow"].key, f["telnet"].key],
                test_cases={"5.1-1-1": "FAIL"}),
        Verdict(provision="etsi-en-303-645:5.2-1", status="M", verdict=VerdictValue.FAIL,
                reason="No disclosure policy.", findings=[f["disclosure"].key], answers=["provisions.5.2-1"]),
        Verdict(provision="etsi-en-303-645:5.3-2", status="M C (12)", verdict=VerdictValue.FAIL,
                reason="Known vulnerable components.", findings=[f["openssl"].key, f["busybox"].key]),
        Verdict(provision="etsi-en-303-645:5.5-1", status="M", verdict=VerdictValue.INCONCLUSIVE,
                reason="TLS could not be tested.", findings=[f["tls"].key, f["hostile"].key]),
        Verdict(provision="etsi-en-303-645:5.6-1", status="R", verdict=VerdictValue.FAIL,
                reason="Unused telnet service enabled.", findings=[f["telnet"].key, "probe.ghost.check@203.0.113.9|22"]),
        Verdict(provision="etsi-en-303-645:5.6-2", status="R", verdict=VerdictValue.PASS,
                reason="Binaries hardened.", findings=[f["aslr"].key]),
        Verdict(provision="etsi-en-303-645:5.13-1", status="M", verdict=VerdictValue.NOT_APPLICABLE,
                reason="The device takes no user input.", answers=["provisions.5.13-1"]),
    ]
    return Assessment(
        target=bundle.target,
        device_class=DeviceClass(id="consumer-camera", name="Consumer camera", tier="moderate", minimum_level=2),
        standard="etsi-en-303-645",
        standard_version="2.1.1",
        verdicts=verdicts,
        level=1,
        level_name="Basic",
        required_level=2,
        meets_class=False,
        levels=[
            LevelResult(level=1, name="Basic", reached=True),
            LevelResult(level=2, name="Substantial", reached=False, missing=["etsi-en-303-645:5.1-1"]),
            LevelResult(level=3, name="Hardened", reached=False, missing=["etsi-en-303-645:5.3-2"]),
            LevelResult(level=4, name="High assurance", reached=False, missing=["etsi-en-303-645:5.6-1"]),
        ],
        also_covers={"uk-psti": ["1"], "nist-ir-8425": []},
        risk={"ale_p50_eur": 12000, "loss_exceedance": {"p90": 50000}},
        tool_versions={"iotmark": "0.1.0"},
        bundle_digest=bundle.digest(),
        evidence_digests=[s.sha256 for s in bundle.sources],
        assessed_at=dt.datetime(2025, 6, 1, 8, 30, tzinfo=UTC),
    )


@pytest.fixture
def certificate(assessment) -> Certificate:
    return Certificate(
        id="IOTM-2025-000123",
        target=assessment.target,
        device_class="consumer-camera",
        standard="etsi-en-303-645",
        standard_version="2.1.1",
        level=1,
        level_name="Basic",
        meets_class=False,
        assessment_digest=assessment.digest(),
        bundle_digest=assessment.bundle_digest,
        summary=["Root account has no password."],
        issued=dt.date(2025, 6, 1),
        expires=dt.date(2027, 6, 1),
        issuer="iotmark test CA",
        key_id="test-key-1",
        verify_url="https://verify.iotmark.example/c/IOTM-2025-000123",
        signature="c2lnbmF0dXJl",
    )


# ---------------------------------------------------------------- dispatch


def test_formats_are_the_six_agreed_ones():
    assert FORMATS == ("html", "pdf", "json", "sarif", "vex", "oscal", "sbom")


def test_unknown_format_is_a_report_error_naming_the_choices(tmp_path, bundle):
    with pytest.raises(ReportError, match=r"unknown report format 'docx'; choose one of: html, pdf, json, sarif, vex, oscal, sbom"):
        render("docx", tmp_path / "x.docx", bundle)
    assert issubclass(ReportError, ValueError)


def test_render_writes_the_given_file_and_returns_its_path(tmp_path, bundle, assessment):
    out = tmp_path / "nested" / "r.sarif"
    assert render("sarif", out, bundle, assessment) == out
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_render_into_a_directory_uses_the_format_default_name(tmp_path, bundle, assessment):
    assert render("vex", tmp_path, bundle, assessment) == tmp_path / "vex.cdx.json"
    assert render("oscal", tmp_path, bundle, assessment) == tmp_path / "assessment-results.oscal.json"


def test_importing_the_report_package_does_not_import_weasyprint_or_trestle():
    code = "import sys, iotmark.report; print('weasyprint' in sys.modules, 'trestle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- HTML


class _Tables(HTMLParser):
    """Collects the text of every cell of the table with class `verdicts`, and all element ids and hrefs."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self._in_table = self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "br" and self._cell is not None:
            self._cell.append(" ")
        if tag == "table" and a.get("class") == "verdicts":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._in_table = self._in_body = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def report_html(bundle, assessment, certificate) -> str:
    return html_report.render_html(bundle, assessment, certificate)


def test_html_escapes_hostile_strings_from_findings(report_html):
    assert HOSTILE not in report_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; admin page without login" in report_html
    assert "<img src=x" not in report_html and "<iframe" not in report_html
    assert "X-Note: &lt;iframe src=//evil&gt;" in report_html


def test_html_is_self_contained(report_html):
    assert re.findall(r"<(script|link|img|iframe|object|embed)\b", report_html) == []
    assert "@import" not in report_html and "url(" not in report_html


def test_html_keeps_non_ascii_text(report_html):
    assert "CamPro 200 Überwachung" in report_html
    assert "Privater Schlüssel im Image gefunden (clé privée)" in report_html


def test_html_verdict_table_has_one_row_per_provision_with_status_verdict_and_reason(report_html, findings):
    parsed = _Tables()
    parsed.feed(report_html)
    assert [row[:3] for row in parsed.rows] == [
        ["etsi-en-303-645:5.1-1", "M", "FAIL"],
        ["etsi-en-303-645:5.2-1", "M", "FAIL"],
        ["etsi-en-303-645:5.3-2", "M C (12)", "FAIL"],
        ["etsi-en-303-645:5.5-1", "M", "INCONCLUSIVE"],
        ["etsi-en-303-645:5.6-1", "R", "FAIL"],
        ["etsi-en-303-645:5.6-2", "R", "PASS"],
        ["etsi-en-303-645:5.13-1", "M", "NOT APPLICABLE"],
    ]
    assert parsed.rows[0][3] == "A universal default password is accepted. Test cases: 5.1-1-1 FAIL"
    assert parsed.rows[0][4] == f"{findings['shadow'].key} {findings['telnet'].key}"
    assert parsed.rows[4][4] == f"{findings['telnet'].key} probe.ghost.check@203.0.113.9|22 (not in bundle)"


def test_html_finding_links_point_at_finding_blocks(report_html):
    parsed = _Tables()
    parsed.feed(report_html)
    internal = [h[1:] for h in parsed.hrefs if h.startswith("#")]
    assert internal and set(internal) <= parsed.ids
    assert [h for h in parsed.hrefs if not h.startswith("#")] == ["https://verify.iotmark.example/c/IOTM-2025-000123"]


def test_html_summary_shows_levels_counts_sources_and_also_covers(report_html):
    text = " ".join(re.sub(r"<[^>]+>", " ", report_html).split())
    assert "Level reached Level 1 of 4 Basic" in text
    assert "Required for this class Level 2 Below its class" in text
    assert "PASS 1 FAIL 4 NOT APPLICABLE 1 INCONCLUSIVE 1" in text
    assert "Findings: 7 failed, 1 not tested, 1 errors, 1 passed." in text
    assert "uk-psti 1" in text and "nist-ir-8425 none" in text
    assert "firmware campro-2.4.1.bin " + "a" * 64 in text
    assert "Certificate IOTM-2025-000123" in text


def test_html_groups_failed_findings_by_severity_most_severe_first(report_html):
    headings = re.findall(r"<h3>(Critical|High|Medium|Low|Info) \((\d+)\)</h3>", report_html)
    assert headings == [("Critical", "1"), ("High", "2"), ("Medium", "3"), ("Low", "1")]


def test_html_shows_evidence_of_each_kind(report_html):
    assert "/etc/shadow, line 1" in report_html
    assert "192.0.2.10:23 (tcp)" in report_html
    assert "[2001:db8::7]:80 (http)" in report_html
    assert "/etc/ssl/private/clé.pem, offset 4096" in report_html
    assert "root::19000:0:99999:7:::" in report_html
    assert '<dt>Hash kind</dt><dd class="wrap">empty</dd>' in report_html  # collector-specific evidence fields


def test_html_without_assessment_lists_evidence_only(bundle):
    page = html_report.render_html(bundle)
    assert "No assessment was given" in page
    assert 'class="verdicts"' not in page
    assert "&lt;script&gt;" in page


# ---------------------------------------------------------------- PDF


def test_pdf_fetcher_refuses_everything_but_data_urls():
    fetcher = pdf._offline_fetcher()
    for url in ("http://192.0.2.1/x.png", "https://example.org/style.css", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            fetcher(url)


@pytest.mark.slow
def test_pdf_is_a_pdf_whose_first_page_renders(tmp_path, bundle, assessment, certificate):
    out = render("pdf", tmp_path / "report.pdf", bundle, assessment, certificate)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (Debian package poppler-utils)")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    assert pages[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Security assessment: Acme Connected Home CamPro 200 Überwachung 2.4.1" in text
    assert "<script>alert(1)</script> admin page without login" in text  # shown as text, never run


# ---------------------------------------------------------------- JSON


def test_json_report_round_trips_through_the_models(tmp_path, bundle, assessment):
    out = render("json", tmp_path / "r.json", bundle, assessment)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["schema"] == "iotmark-report/1"
    assert Bundle.model_validate(data["bundle"]) == bundle
    assert Assessment.model_validate(data["assessment"]) == assessment
    assert data["certificate"] is None


def test_json_report_keeps_the_bundle_digest(bundle, certificate):
    data = json_report.build(bundle, certificate=certificate)
    assert Bundle.model_validate(data["bundle"]).digest() == bundle.digest()
    assert Certificate.model_validate(data["certificate"]) == certificate


# ---------------------------------------------------------------- SARIF


@pytest.fixture
def sarif_log(bundle, assessment) -> dict:
    return json.loads(json.dumps(sarif.build(bundle, assessment)))


def _result_for(log: dict, finding: Finding) -> dict:
    (hit,) = [r for r in log["runs"][0]["results"] if r["properties"]["findingKey"] == finding.key]
    return hit


def test_sarif_validates_against_the_schema_subset(sarif_log):
    schema = json.loads((DATA / "sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(sarif_log)


def test_sarif_header_and_driver(sarif_log):
    assert sarif_log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert sarif_log["version"] == "2.1.0"
    driver = sarif_log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == ("iotmark", "0.1.0", "https://iotmark.example/")


def test_sarif_has_one_rule_per_check_with_worst_level_and_provision_tags(sarif_log):
    rules = sarif_log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [
        "declaration.disclosure.policy",
        "firmware.accounts.empty_password",
        "firmware.components.known_vulnerable",
        "firmware.hardening.aslr",
        "firmware.secrets.private_key",
        "firmware.update.signature",
        "probe.http.admin_page",
        "probe.telnet.open",
        "probe.tls.weak_ciphers",
    ]
    vulnerable = rules[2]
    assert vulnerable["defaultConfiguration"] == {"level": "error"}
    assert vulnerable["properties"]["security-severity"] == "8.0"
    assert vulnerable["properties"]["tags"] == ["security", "iotmark", "firmware", "etsi-en-303-645:5.3-2"]
    assert vulnerable["shortDescription"]["text"] == "OpenSSL 1.1.1j is affected by CVE-2021-3449"
    assert "Bears on: etsi-en-303-645:5.3-2." in vulnerable["help"]["text"]


def test_sarif_results_cover_fail_not_tested_and_error_only(sarif_log, findings):
    results = sarif_log["runs"][0]["results"]
    assert len(results) == 9  # 10 findings, one passed
    assert all(r["properties"]["outcome"] != "pass" for r in results)
    levels = {key: (_result_for(sarif_log, f)["kind"], _result_for(sarif_log, f)["level"])
              for key, f in findings.items() if f.outcome != "pass"}
    assert levels == {
        "shadow": ("fail", "error"), "telnet": ("fail", "error"), "openssl": ("fail", "error"),
        "busybox": ("fail", "warning"), "hostile": ("fail", "warning"), "key": ("fail", "note"),
        "disclosure": ("fail", "warning"), "tls": ("open", "none"), "update": ("open", "none"),
    }


def test_sarif_rule_index_points_at_the_rule_of_the_same_id(sarif_log):
    rules = sarif_log["runs"][0]["tool"]["driver"]["rules"]
    for result in sarif_log["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_firmware_paths_are_relative_to_the_image_root(sarif_log, findings):
    shadow = _result_for(sarif_log, findings["shadow"])["locations"][0]["physicalLocation"]
    assert shadow == {"artifactLocation": {"uri": "etc/shadow", "uriBaseId": "IMAGEROOT"}, "region": {"startLine": 1}}
    key = _result_for(sarif_log, findings["key"])["locations"][0]["physicalLocation"]
    assert key == {"artifactLocation": {"uri": "etc/ssl/private/cl%C3%A9.pem", "uriBaseId": "IMAGEROOT"},
                   "region": {"byteOffset": 4096}}
    assert "IMAGEROOT" in sarif_log["runs"][0]["originalUriBaseIds"]


def test_sarif_declaration_evidence_points_at_its_source_file(sarif_log, findings):
    loc = _result_for(sarif_log, findings["disclosure"])["locations"][0]
    assert loc == {"physicalLocation": {"artifactLocation": {"uri": "declaration.yaml"}, "region": {"startLine": 12}}}


def test_sarif_network_evidence_is_a_logical_location(sarif_log, findings):
    telnet = _result_for(sarif_log, findings["telnet"])["locations"][0]
    assert telnet == {"logicalLocations": [{"name": "192.0.2.10:23", "fullyQualifiedName": "tcp://192.0.2.10:23", "kind": "resource"}]}
    web = _result_for(sarif_log, findings["hostile"])["locations"][0]["logicalLocations"][0]
    assert web["name"] == "[2001:db8::7]:80/cgi-bin/<x>"


def test_sarif_fingerprints_are_stable_and_distinct(bundle, assessment, sarif_log, findings):
    again = sarif.build(bundle, assessment)
    first = [r["partialFingerprints"] for r in sarif_log["runs"][0]["results"]]
    assert first == [r["partialFingerprints"] for r in again["runs"][0]["results"]]
    values = [fp["iotmarkFindingKey/v1"] for fp in first]
    assert len(set(values)) == len(values)
    assert _result_for(sarif_log, findings["shadow"])["partialFingerprints"] == {
        "iotmarkFindingKey/v1": hashlib.sha256(b"firmware.accounts.empty_password@/etc/shadow|1").hexdigest()
    }


def test_sarif_errors_are_also_tool_notifications(sarif_log):
    notes = sarif_log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes == [{
        "level": "error",
        "message": {"text": "Update signature check failed to run\nThe unpacker stopped on update.bin: truncated header."},
        "descriptor": {"id": "firmware.update.signature"},
    }]


# ---------------------------------------------------------------- CycloneDX VEX


@pytest.fixture
def vex_bom(bundle) -> dict:
    return json.loads(json.dumps(vex.build(bundle)))


def test_vex_validates_against_the_schema_subset(vex_bom):
    schema = json.loads((DATA / "cyclonedx-1.6-vex-subset.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(vex_bom)


def test_vex_serial_number_is_uuid5_of_the_bundle_digest(vex_bom, bundle):
    expected = uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "urn:iotmark:vex"), bundle.digest())
    assert vex_bom["serialNumber"] == f"urn:uuid:{expected}"
    assert (vex_bom["bomFormat"], vex_bom["specVersion"], vex_bom["version"]) == ("CycloneDX", "1.6", 1)
    assert vex_bom["metadata"]["timestamp"] == "2025-05-31T12:00:00Z"


def test_vex_describes_the_device_and_its_components(vex_bom):
    device = vex_bom["metadata"]["component"]
    assert (device["type"], device["name"], device["version"], device["manufacturer"]) == (
        "device", "CamPro 200 Überwachung", "2.4.1", {"name": "Acme Connected Home"})
    assert [(c["bom-ref"], c["name"], c.get("version"), c.get("purl")) for c in vex_bom["components"]] == [
        ("pkg:generic/openssl@1.1.1j", "openssl", "1.1.1j", "pkg:generic/openssl@1.1.1j"),
        ("pkg:generic/busybox@1.24.1", "busybox", "1.24.1", "pkg:generic/busybox@1.24.1"),
        ("component:lighttpd@1.4.59", "lighttpd", "1.4.59", None),
    ]
    assert vex_bom["components"][0]["cpe"] == "cpe:2.3:a:openssl:openssl:1.1.1j:*:*:*:*:*:*:*"


def test_vex_cross_references_resolve(vex_bom):
    refs = [c["bom-ref"] for c in vex_bom["components"]] + [vex_bom["metadata"]["component"]["bom-ref"]]
    refs += [v["bom-ref"] for v in vex_bom["vulnerabilities"]]
    assert len(refs) == len(set(refs))
    for vuln in vex_bom["vulnerabilities"]:
        for affected in vuln["affects"]:
            assert affected["ref"] in refs
    for dependency in vex_bom["dependencies"]:
        assert {dependency["ref"], *dependency["dependsOn"]} <= set(refs)


def test_vex_has_one_vulnerability_per_cve_with_state_from_outcome_and_confidence(vex_bom):
    vulns = {v["id"]: v for v in vex_bom["vulnerabilities"]}
    assert sorted(vulns) == ["CVE-2021-3449", "CVE-2022-28391"]
    openssl = vulns["CVE-2021-3449"]
    assert openssl["source"] == {"name": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-3449"}
    assert openssl["ratings"] == [{"source": {"name": "iotmark"}, "severity": "high", "method": "other"}]
    assert openssl["analysis"]["state"] == "exploitable"
    assert openssl["affects"] == [{"ref": "pkg:generic/openssl@1.1.1j", "versions": [{"version": "1.1.1j", "status": "affected"}]}]
    assert openssl["description"] == "OpenSSL 1.1.1j is affected by CVE-2021-3449"
    busybox = vulns["CVE-2022-28391"]
    assert busybox["analysis"]["state"] == "in_triage"  # confidence 0.5
    assert busybox["affects"] == [{"ref": "pkg:generic/busybox@1.24.1", "versions": [{"version": "1.24.1", "status": "unknown"}]}]


def test_vex_cve_without_a_known_component_affects_the_device(bundle):
    finding = Finding(check="probe.http.cve_check", outcome="fail", severity="critical", title="RCE",
                      cve=["CVE-2017-17215"], confidence=1.0, component="unknown-daemon")
    bom = vex.build(bundle.model_copy(update={"findings": [finding]}))
    assert bom["vulnerabilities"][0]["affects"] == [
        {"ref": "iotmark-device", "versions": [{"version": "2.4.1", "status": "affected"}]}]


def test_vex_is_deterministic(bundle, vex_bom):
    assert json.loads(json.dumps(vex.build(bundle))) == vex_bom


# ---------------------------------------------------------------- OSCAL


@pytest.fixture
def oscal_doc(tmp_path, bundle, assessment) -> dict:
    out = render("oscal", tmp_path / "ar.json", bundle, assessment)
    return json.loads(out.read_text(encoding="utf-8"))


def test_oscal_loads_back_through_trestle(oscal_doc):
    from trestle.oscal.assessment_results import AssessmentResults

    model = AssessmentResults.model_validate(oscal_doc["assessment-results"])
    assert model.metadata.title == "iotmark assessment results: Acme Connected Home CamPro 200 Überwachung 2.4.1"


def test_oscal_reviews_every_provision_as_a_control(oscal_doc):
    result = oscal_doc["assessment-results"]["results"][0]
    included = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert [c["control-id"] for c in included] == [
        "etsi-en-303-645_5.1-1", "etsi-en-303-645_5.2-1", "etsi-en-303-645_5.3-2", "etsi-en-303-645_5.5-1",
        "etsi-en-303-645_5.6-1", "etsi-en-303-645_5.6-2", "etsi-en-303-645_5.13-1",
    ]


def test_oscal_has_one_finding_per_verdict_with_objective_status(oscal_doc):
    result = oscal_doc["assessment-results"]["results"][0]
    states = [(f["target"]["type"], f["target"]["target-id"], f["target"]["status"]["state"], f["target"]["status"]["reason"])
              for f in result["findings"]]
    assert states == [
        ("objective-id", "etsi-en-303-645_5.1-1", "not-satisfied", "fail"),
        ("objective-id", "etsi-en-303-645_5.2-1", "not-satisfied", "fail"),
        ("objective-id", "etsi-en-303-645_5.3-2", "not-satisfied", "fail"),
        ("objective-id", "etsi-en-303-645_5.5-1", "not-satisfied", "other"),
        ("objective-id", "etsi-en-303-645_5.6-1", "not-satisfied", "fail"),
        ("objective-id", "etsi-en-303-645_5.6-2", "satisfied", "pass"),
        ("objective-id", "etsi-en-303-645_5.13-1", "satisfied", "other"),
    ]
    assert result["findings"][6]["target"]["implementation-status"] == {"state": "not-applicable"}


def test_oscal_findings_link_to_observations_one_per_finding(oscal_doc, bundle):
    result = oscal_doc["assessment-results"]["results"][0]
    observations = {o["uuid"]: o for o in result["observations"]}
    assert len(observations) == len(bundle.findings)
    first = result["findings"][0]
    linked = [observations[r["observation-uuid"]] for r in first["related-observations"]]
    assert [o["title"] for o in linked] == ["Account root has an empty password", "Telnet service answers on port 23"]
    assert linked[0]["methods"] == ["TEST"]
    assert linked[0]["relevant-evidence"][0]["description"].startswith("firmware evidence at /etc/shadow:1.")
    for finding in result["findings"]:
        for related in finding.get("related-observations", []):
            assert related["observation-uuid"] in observations
    disclosure = next(o for o in observations.values() if o["title"] == "No vulnerability disclosure policy published")
    assert disclosure["methods"] == ["EXAMINE"]


def test_oscal_is_deterministic(bundle, assessment):
    assert oscal.build(bundle, assessment).oscal_serialize_json() == oscal.build(bundle, assessment).oscal_serialize_json()


def test_oscal_needs_an_assessment(tmp_path, bundle):
    with pytest.raises(ReportError, match="OSCAL assessment-results need an assessment"):
        render("oscal", tmp_path / "ar.json", bundle)


@pytest.mark.parametrize("provision, token", [
    ("etsi-en-303-645:5.1-1", "etsi-en-303-645_5.1-1"),
    ("cra-annex-i:I(2)(a)", "cra-annex-i_i_2_a"),
    ("42:x", "_42_x"),
])
def test_oscal_control_ids_are_tokens(provision, token):
    assert oscal.control_id(provision) == token


# ---------------------------------------------------------------- CycloneDX SBOM


def test_sbom_passes_the_official_cyclonedx_1_6_schema_with_component_evidence(bundle):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from iotmark.report import sbom

    bundle.components[1] = bundle.components[1].model_copy(
        update={"confidence": 0.7, "found_in": ["/bin/busybox", "/usr/lib/opkg/status"]})
    bom = sbom.build(bundle)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None
    assert "vulnerabilities" not in bom
    busybox = bom["components"][1]
    assert busybox["evidence"] == {
        "occurrences": [{"location": "/bin/busybox"}, {"location": "/usr/lib/opkg/status"}],
        "identity": [{"field": "version", "confidence": 0.7}],
    }
    expected = uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "urn:iotmark:sbom"), bundle.digest())
    assert bom["serialNumber"] == f"urn:uuid:{expected}"


def test_sbom_is_a_report_format(tmp_path, bundle):
    assert render("sbom", tmp_path, bundle) == tmp_path / "sbom.cdx.json"
    assert [c["name"] for c in json.loads((tmp_path / "sbom.cdx.json").read_text())["components"]] == [
        "openssl", "busybox", "lighttpd"]
