"""TLS on every port that completed a handshake: protocol versions, cipher suites, the certificate and
known vulnerabilities, with sslyze as a library (its own OpenSSL builds still speak SSL 2/3 and TLS 1.0)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
import warnings
from typing import Any

from iotmark.collect.probe.session import Service, Session, load_data
from iotmark.model import Finding

DEFAULT_CHECK = "probe.tls.reviewed"
SSLYZE_CONNECTIONS = 4  # sslyze's own parallel connections to the target, taken from the probe's gate
PROTOCOLS = {"ssl_2_0": "SSL 2.0", "ssl_3_0": "SSL 3.0", "tls_1_0": "TLS 1.0", "tls_1_1": "TLS 1.1",
             "tls_1_2": "TLS 1.2", "tls_1_3": "TLS 1.3"}


def applies(service: Service) -> bool:
    return service.tls and service.transport == "tcp"


@functools.lru_cache(maxsize=1)
def policy() -> dict[str, Any]:
    raw = dict(load_data("tls.yaml"))
    raw["weak_ciphers"] = [(re.compile(c["pattern"]), c["reason"]) for c in raw["weak_ciphers"]]
    return raw


def scan_server(address: str, port: int, timeout: float) -> Any:
    """Run sslyze's protocol, cipher, certificate and vulnerability scans against one port; blocking."""
    from sslyze import (ScanCommand, Scanner, ServerNetworkConfiguration, ServerNetworkLocation,
                        ServerScanRequest)

    commands = {ScanCommand.SSL_2_0_CIPHER_SUITES, ScanCommand.SSL_3_0_CIPHER_SUITES,
                ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES,
                ScanCommand.TLS_1_2_CIPHER_SUITES, ScanCommand.TLS_1_3_CIPHER_SUITES,
                ScanCommand.CERTIFICATE_INFO, ScanCommand.HEARTBLEED, ScanCommand.OPENSSL_CCS_INJECTION}
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=address, port=port, ip_address=address),
        scan_commands=commands,
        network_configuration=ServerNetworkConfiguration(tls_server_name_indication=address,
                                                         network_timeout=int(max(1, timeout)),
                                                         network_max_retries=1))
    scanner = Scanner(per_server_concurrent_connections_limit=SSLYZE_CONNECTIONS, concurrent_server_scans_limit=1)
    with warnings.catch_warnings():
        # sslyze loads its bundled trust stores, some of whose old roots cryptography warns about.
        warnings.simplefilter("ignore")
        scanner.queue_scans([request])
        return next(iter(scanner.get_results()))


def _accepted(scan: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, label in PROTOCOLS.items():
        attempt = getattr(scan, f"{key}_cipher_suites")
        if attempt.result is not None and attempt.result.accepted_cipher_suites:
            out[label] = [c.cipher_suite.name for c in attempt.result.accepted_cipher_suites]
    return out


def _certificate_findings(session: Session, service: Service, scan: Any) -> list[Finding]:
    attempt = scan.certificate_info
    if attempt.result is None or not attempt.result.certificate_deployments:
        return [session.not_tested("probe.tls.weak_key", "certificate could not be read", service)]
    leaf = attempt.result.certificate_deployments[0].received_certificate_chain[0]
    findings = []
    key = leaf.public_key()
    algorithm = type(key).__name__.replace("_", "")
    family = "RSA" if "RSA" in algorithm else "EC" if "Elliptic" in algorithm or "EC" in algorithm else \
        "DSA" if "DSA" in algorithm else None
    bits = getattr(key, "key_size", None)
    minimum = policy()["minimum_key_bits"].get(family or "", 0)
    subject = leaf.subject.rfc4514_string()
    if bits and bits < minimum:
        findings.append(session.finding("probe.tls.weak_key", "fail",
                                        f"certificate {subject!r} has a {bits}-bit {family} key (minimum {minimum})",
                                        service, excerpt=f"{family} {bits}"))
    now = dt.datetime.now(dt.timezone.utc)
    if not (leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc):
        findings.append(session.finding("probe.tls.certificate_expired", "fail",
                                        f"certificate valid {leaf.not_valid_before_utc:%Y-%m-%d} to "
                                        f"{leaf.not_valid_after_utc:%Y-%m-%d}", service))
    if leaf.issuer == leaf.subject:
        findings.append(session.finding("probe.tls.self_signed", "fail",
                                        f"certificate {subject!r} is signed by its own key", service))
    return findings


async def run(session: Session, service: Service) -> list[Finding]:
    """Scan one TLS port and report each weakness; `probe.tls.reviewed` only when every scan completed."""
    timeout = session.options.read_timeout + session.options.connect_timeout
    try:
        async with session.gate.slots(SSLYZE_CONNECTIONS):
            result = await asyncio.to_thread(scan_server, session.address, service.port, timeout)
    except (OSError, ValueError) as exc:
        return [session.not_tested(DEFAULT_CHECK, f"sslyze could not scan port {service.port}: {exc}", service)]
    scan = result.scan_result
    if scan is None:
        reason = str(result.connectivity_error_trace or result.connectivity_status)[:300]
        return [session.not_tested(DEFAULT_CHECK, f"sslyze could not connect: {reason}", service)]
    accepted = _accepted(scan)
    findings: list[Finding] = []
    versions = [v for v in PROTOCOLS.values() if v in accepted]
    obsolete = [v for v in versions if v in policy()["obsolete_protocols"]]
    if obsolete:
        findings.append(session.finding("probe.tls.weak_protocol", "fail",
                                        f"accepts {', '.join(obsolete)} (offers {', '.join(versions)})", service,
                                        excerpt=", ".join(obsolete)))
    weak = sorted({f"{name} ({reason})" for suites in accepted.values() for name in suites
                   for pattern, reason in policy()["weak_ciphers"] if pattern.search(name)})
    if weak:
        findings.append(session.finding("probe.tls.weak_cipher", "fail",
                                        f"{len(weak)} weak cipher suites accepted: {'; '.join(weak)}"[:900], service,
                                        excerpt=", ".join(w.split(" ")[0] for w in weak)[:500]))
    findings += _certificate_findings(session, service, scan)
    for label, attempt, attr in (("Heartbleed", scan.heartbleed, "is_vulnerable_to_heartbleed"),
                                 ("OpenSSL CCS injection", scan.openssl_ccs_injection,
                                  "is_vulnerable_to_ccs_injection")):
        if attempt.result is not None and getattr(attempt.result, attr):
            findings.append(session.finding("probe.tls.vulnerable", "fail", f"vulnerable to {label}", service,
                                            title=f"TLS service vulnerable to {label}"))
    incomplete = [k for k in PROTOCOLS if getattr(scan, f"{k}_cipher_suites").result is None]
    if incomplete:
        findings.append(session.not_tested(DEFAULT_CHECK, f"sslyze could not test {', '.join(incomplete)}", service))
    elif not findings:
        best = accepted.get(versions[-1], []) if versions else []
        findings.append(session.finding("probe.tls.reviewed", "pass",
                                        f"offers {', '.join(versions)} only; no weak suite; certificate sound",
                                        service, banner=f"{versions[-1] if versions else ''} {best[0] if best else ''}"))
    return findings
