"""Components from version strings, package databases and kernel modules, matched against iotmark.vulns."""

from __future__ import annotations

from iotmark.collect.firmware.components import ComponentScanner
from iotmark.collect.firmware.corpus import Corpus
from iotmark.vulns import VulnDB

DNSPOOQ_AND_KEYTRAP = {"CVE-2020-25681", "CVE-2020-25682", "CVE-2020-25683", "CVE-2020-25684", "CVE-2020-25685",
                       "CVE-2020-25686", "CVE-2020-25687", "CVE-2023-50387"}


def _vulns(analysis):
    return [f for f in analysis.findings if f.check == "firmware.component.known_vulnerability"]


def test_weak_root_components_with_versions_purls_and_places(weak):
    assert [(c.name, c.version, c.found_in) for c in weak.components] == [
        ("busybox", "1.35.0", ["/bin/busybox"]),
        ("dnsmasq", "2.80-1", ["/usr/lib/opkg/status"]),
        ("dropbear", "2022.83", ["/usr/sbin/dropbear"]),
        ("libc", "1.1.24-3", ["/usr/lib/opkg/status"]),
        ("linux_kernel", "4.14.171", ["/lib/modules/4.14.171"]),
    ]
    busybox = weak.components[0]
    assert busybox.purl == "pkg:generic/busybox@1.35.0"
    assert busybox.cpe == "cpe:2.3:a:busybox:busybox:1.35.0:*:*:*:*:*:*:*"
    assert busybox.confidence == 0.95


def test_old_dnsmasq_from_opkg_status_has_its_advisories(weak):
    dnsmasq = [f for f in _vulns(weak) if f.component == "dnsmasq"]
    assert {f.cve[0] for f in dnsmasq} == DNSPOOQ_AND_KEYTRAP
    assert {(f.evidence.path, f.evidence.line, f.evidence.excerpt) for f in dnsmasq} == {
        ("/usr/lib/opkg/status", 1, "Package: dnsmasq Version: 2.80-1")}
    # the "-1" package release may carry back-ported fixes, so the match is less certain
    assert {f.confidence for f in dnsmasq} == {0.6}
    assert all("back-ported" in f.detail for f in dnsmasq)


def test_dropbear_version_string_matches_terrapin(weak):
    [finding] = [f for f in _vulns(weak) if f.component == "dropbear"]
    assert finding.cve == ["CVE-2023-48795"]
    assert finding.evidence.path == "/usr/sbin/dropbear"
    assert finding.evidence.excerpt == "SSH-2.0-dropbear_2022.83"
    assert isinstance(finding.evidence.offset, int)
    assert finding.title == "dropbear 2022.83 has CVE-2023-48795"


def test_clean_root_has_no_known_vulnerability_and_merges_binary_with_package(clean):
    assert _vulns(clean) == []
    assert [(c.name, c.version, c.found_in) for c in clean.components] == [
        ("busybox", "1.35.0", ["/bin/busybox"]),
        ("dnsmasq", "2.90-1", ["/usr/lib/opkg/status", "/usr/sbin/dnsmasq"]),
        ("linux_kernel", "5.15.150", ["/lib/modules/5.15.150"]),
    ]
    summary = next(f for f in clean.findings if f.check == "firmware.components.no_known_vulnerability")
    assert summary.outcome == "pass"


def test_dpkg_status_is_a_distribution_package():
    status = ("Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\n"
              "Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n")
    scanner = ComponentScanner()
    corpus = Corpus(image="x.bin", texts={"var/lib/dpkg/status": status})
    scanner.scan_packages(corpus)
    components, findings = scanner.findings(corpus, VulnDB.load())
    assert [(c.name, c.version, c.purl) for c in components] == [
        ("openssh-server", "1:9.2p1-2+deb12u3", "pkg:deb/openssh-server@1:9.2p1-2+deb12u3")]
    regresshion = next(f for f in findings if f.cve == ["CVE-2024-6387"])
    assert regresshion.confidence == 0.6


def test_version_strings_in_binaries():
    scanner = ComponentScanner()
    scanner.scan_binary("usr/lib/libssl.so.1.0.0", b"\x7fELF....OpenSSL 1.0.1f 6 Jan 2014\x00")
    scanner.scan_binary("usr/sbin/lighttpd", b"\x7fELF\x00lighttpd/1.4.45\x00")
    components, findings = scanner.findings(Corpus(image="x.bin"), VulnDB.load())
    assert [(c.name, c.version) for c in components] == [("lighttpd", "1.4.45"), ("openssl", "1.0.1f")]
    heartbleed = next(f for f in findings if f.cve == ["CVE-2014-0160"])
    assert (heartbleed.evidence.path, heartbleed.evidence.offset) == ("/usr/lib/libssl.so.1.0.0", 8)


def test_nothing_identified_is_not_tested():
    scanner = ComponentScanner()
    components, [finding] = scanner.findings(Corpus(image="x.bin"), VulnDB.load())
    assert components == []
    assert (finding.check, finding.outcome) == ("firmware.components.inventory", "not_tested")
