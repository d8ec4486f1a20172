"""The probe against the hardened twin: nothing weak is reported, and what was checked says pass."""

from __future__ import annotations

from iotmark.collect.probe.engine import ProbeResult


def test_hardened_twin_services_are_identified(hardened_probe: ProbeResult) -> None:
    assert {(s.port, s.transport, s.protocol) for s in hardened_probe.services} == {
        (22, "tcp", "ssh"), (80, "tcp", "http"), (443, "tcp", "https"), (8883, "tcp", "mqtts")}


def test_hardened_twin_has_no_failed_check(hardened_probe: ProbeResult) -> None:
    # The one open question: OpenSSH's upstream advisories on a Debian build (see test_probe_ssh_advisories).
    assert [(f.check, f.evidence.port, f.outcome) for f in hardened_probe.findings if f.outcome != "pass"] == [
        ("probe.ssh.known_vulnerability", 22, "not_tested")]


def test_hardened_twin_passes_are_recorded_per_service(hardened_probe: ProbeResult) -> None:
    passed = {(f.check, f.evidence.port) for f in hardened_probe.findings if f.outcome == "pass"}
    assert passed == {
        ("probe.ports.exposed_services", None),
        ("probe.ssh.reviewed", 22), ("probe.ssh.known_vulnerability", 22), ("probe.credentials.rejected", 22),
        ("probe.tls.reviewed", 443), ("probe.credentials.rejected", 443),
        ("probe.tls.reviewed", 8883), ("probe.mqtt.authenticated", 8883), ("probe.credentials.rejected", 8883),
    }


def test_tls_review_names_the_only_protocol_offered(hardened_probe: ProbeResult) -> None:
    reviews = {f.evidence.port: f for f in hardened_probe.findings if f.check == "probe.tls.reviewed"}
    assert reviews[443].detail.startswith("offers TLS 1.3 only")
    assert reviews[443].evidence.banner.startswith("TLS 1.3 TLS_")
