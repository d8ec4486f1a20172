"""Known vulnerabilities of the lab's SSH servers, from the version ssh-audit reads in their banners.

The expected CVE ids are read from the same sources the probe uses (ssh-audit's banner parsing and the
offline vulnerability data), so the tests follow the data instead of repeating it."""

from __future__ import annotations

from ssh_audit.banner import Banner
from ssh_audit.software import Software

from iotmark.collect.probe.engine import ProbeResult
from iotmark.collect.probe.lab import LabDevice
from iotmark.collect.probe.session import ProbeOptions, Service, Session
from iotmark.collect.probe.ssh import audit_server
from iotmark.collect.probe.ssh_advisories import known_vulnerabilities
from iotmark.vulns import Advisory, VulnDB

STRICT_KEX = "kex-strict-s-v00@openssh.com"


def _advisory_cves(banner: str) -> tuple[str, list[str]]:
    software = Software.parse(Banner.parse(banner))
    assert software is not None
    name = {"Dropbear SSH": "dropbear", "OpenSSH": "openssh"}[software.product]
    version = software.version + (software.patch or "")
    return f"{name} {version}", sorted({c for a in VulnDB.load().match(name, version) for c in a.cves})


def test_dropbear_advisories_are_defended_by_strict_kex(weak_lab: LabDevice, weak_probe: ProbeResult) -> None:
    report = audit_server(weak_lab.address, 22, 5)
    component, cves = _advisory_cves(report["banner"]["raw"])
    assert (component, cves) == ("dropbear 2022.83", ["CVE-2023-48795"])
    assert STRICT_KEX in [k["algorithm"] for k in report["kex"]]  # Debian back-ported the Terrapin fix
    found = [f for f in weak_probe.findings if f.check == "probe.ssh.known_vulnerability"]
    assert [(f.outcome, f.evidence.port, f.evidence.excerpt, f.component) for f in found] == [
        ("pass", 22, "CVE-2023-48795", "dropbear 2022.83")]


def test_openssh_with_a_distribution_revision_is_not_judged_by_upstream_version(
        hardened_lab: LabDevice, hardened_probe: ProbeResult) -> None:
    report = audit_server(hardened_lab.address, 22, 5)
    component, cves = _advisory_cves(report["banner"]["raw"])
    assert report["banner"]["comments"].startswith("Debian-")
    found = {f.outcome: f for f in hardened_probe.findings if f.check == "probe.ssh.known_vulnerability"}
    assert sorted(found) == ["not_tested", "pass"]
    assert found["pass"].evidence.excerpt == "CVE-2023-48795"
    assert found["not_tested"].evidence.excerpt == ", ".join(c for c in cves if c != "CVE-2023-48795")
    assert found["not_tested"].component == component == "openssh 9.2p1"
    assert found["not_tested"].severity == "info"


def test_an_advisory_for_the_served_version_fails_with_its_cve_and_partial_confidence(weak_lab: LabDevice) -> None:
    report = audit_server(weak_lab.address, 22, 5)
    db = VulnDB([Advisory(id="CVE-2099-12345", component="dropbear", severity="high", summary="Lab advisory.",
                          affected=[{"introduced": "2022.01", "fixed": "2099.1"}])])
    session = Session(weak_lab.address, ProbeOptions())
    (finding,) = known_vulnerabilities(session, Service(22, "tcp", "ssh"), report, db)
    assert (finding.check, finding.outcome, finding.severity, finding.cve, finding.component, finding.confidence) == (
        "probe.ssh.known_vulnerability", "fail", "high", ["CVE-2099-12345"], "dropbear 2022.83", 0.7)
    assert finding.provisions == ["etsi-en-303-645:5.2-3", "etsi-en-303-645:5.3-8", "cra-annex-i:I(2)(a)",
                                  "owasp-iot-top10:I5"]
    assert finding.title == "dropbear 2022.83 has CVE-2099-12345"
