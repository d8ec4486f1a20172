"""The probe against the insecure-device lab: every seeded weakness is found, with masked evidence."""

from __future__ import annotations

from iotmark.collect.probe.engine import ProbeResult

SEEDED = {
    ("probe.telnet.open", 23), ("probe.telnet.open", 2323),
    ("probe.credentials.default_login", 21), ("probe.credentials.default_login", 22),
    ("probe.credentials.default_login", 23), ("probe.credentials.default_login", 2323),
    ("probe.credentials.default_login", 80), ("probe.credentials.default_login", 443),
    ("probe.credentials.default_login", 1884), ("probe.credentials.default_login", 8080),
    ("probe.ssh.weak_algorithms", 22),
    ("probe.tls.weak_protocol", 443), ("probe.tls.weak_cipher", 443), ("probe.tls.weak_key", 443),
    ("probe.tls.self_signed", 443),
    ("probe.http.server_version", 80), ("probe.http.server_version", 443), ("probe.http.server_version", 5000),
    ("probe.http.cleartext_login", 80), ("probe.http.cleartext_login", 8080),
    ("probe.http.directory_listing", 80), ("probe.http.directory_listing", 443),
    ("probe.http.exposed_file", 80), ("probe.http.exposed_file", 443),
    ("probe.mqtt.cleartext", 1883), ("probe.mqtt.cleartext", 1884), ("probe.mqtt.anonymous", 1883),
    ("probe.mqtt.wildcard_read", 1883),
    ("probe.coap.resources_exposed", 5683),
    ("probe.upnp.exposed", 1900), ("probe.upnp.port_mapping", 1900),
    ("probe.ftp.anonymous", 21), ("probe.ftp.anonymous_write", 21), ("probe.ftp.cleartext", 21),
}


def test_discovery_finds_every_lab_service(weak_probe: ProbeResult) -> None:
    found = {(s.port, s.transport, s.protocol) for s in weak_probe.services}
    assert found == {(21, "tcp", "ftp"), (22, "tcp", "ssh"), (23, "tcp", "telnet"), (80, "tcp", "http"),
                     (443, "tcp", "https"), (1883, "tcp", "mqtt"), (1884, "tcp", "mqtt"), (2323, "tcp", "telnet"),
                     (5000, "tcp", "http"), (8080, "tcp", "http"), (5683, "tcp", "unknown"), (1900, "udp", "ssdp"), (5683, "udp", "coap")}


def test_every_seeded_weakness_is_reported_and_nothing_else_fails(weak_probe: ProbeResult) -> None:
    failed = {(f.check, f.evidence.port) for f in weak_probe.findings if f.outcome == "fail"}
    assert failed == SEEDED


def test_no_check_on_the_lab_was_left_untested(weak_probe: ProbeResult) -> None:
    assert [(f.check, f.evidence.port, f.detail) for f in weak_probe.findings
            if f.outcome in ("not_tested", "error")] == []


def test_accepted_default_credentials_are_masked(weak_probe: ProbeResult) -> None:
    logins = {f.evidence.port: f for f in weak_probe.findings if f.check == "probe.credentials.default_login"}
    assert {port: f.evidence.excerpt for port, f in logins.items()} == {
        21: "ad***n:ad***n", 22: "ad***n:ad***n", 23: "ad***n:ad***n", 2323: "ad***n:ad***n",
        80: "ad***n:ad***n", 443: "ad***n:ad***n", 1884: "r***t:vi***v", 8080: "r***t:xm***c"}
    assert all(f.severity == "critical" and "admin:admin" not in f.detail for f in logins.values())


def test_tls_findings_carry_the_negotiated_evidence(weak_probe: ProbeResult) -> None:
    tls = {f.check: f for f in weak_probe.findings if f.check.startswith("probe.tls.")}
    assert tls["probe.tls.weak_protocol"].evidence.excerpt == "TLS 1.0, TLS 1.1"
    assert tls["probe.tls.weak_key"].evidence.excerpt == "RSA 1024"
    assert tls["probe.tls.weak_protocol"].provisions == ["etsi-en-303-645:5.5-1", "owasp-iot-top10:I7"]


def test_mqtt_wildcard_read_names_the_retained_topic(weak_probe: ProbeResult) -> None:
    (finding,) = [f for f in weak_probe.findings if f.check == "probe.mqtt.wildcard_read"]
    assert finding.evidence.excerpt == "home/frontdoor/lock"


def test_connections_never_exceed_the_configured_concurrency(weak_probe: ProbeResult) -> None:
    assert weak_probe.connections > 65535
    assert weak_probe.peak_connections <= 256


def test_served_host_key_fingerprint_matches_the_lab_key_file(weak_lab, weak_probe: ProbeResult) -> None:  # type: ignore[no-untyped-def]
    from iotmark.collect.firmware.secrets import SecretScanner

    scanner = SecretScanner()
    scanner.scan("dropbear_rsa", (weak_lab.workdir / "dropbear_rsa").read_bytes())
    (ssh,) = [f for f in weak_probe.findings if f.check == "probe.ssh.weak_algorithms"]
    assert (ssh.evidence.host_key_type, ssh.evidence.host_key_sha256) == (["ssh-rsa"], [scanner.keys[0].sha256])


def test_form_login_is_proved_by_the_session_it_opens(weak_probe: ProbeResult) -> None:
    (finding,) = [f for f in weak_probe.findings if f.check == "probe.credentials.default_login" and f.evidence.port == 8080]
    assert (finding.evidence.path, finding.detail) == (
        "/cgi-bin/login.cgi", "http on port 8080 accepted the default pair r***t:xm***c (attempt 6 of 10)")


def test_basic_and_digest_auth_are_both_tried_with_the_default_list(weak_probe: ProbeResult) -> None:
    logins = {f.evidence.port: f for f in weak_probe.findings if f.check == "probe.credentials.default_login"}
    # the lab asks for admin:admin with basic auth over HTTP and with digest auth over HTTPS
    assert logins[80].detail.startswith("HTTP basic authentication on /admin/: ")
    assert logins[443].detail.startswith("HTTP digest authentication on /admin/: ")
    assert (logins[80].evidence.path, logins[443].evidence.path) == ("/admin/", "/admin/")
