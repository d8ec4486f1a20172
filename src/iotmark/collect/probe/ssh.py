"""SSH: key exchange, cipher, MAC and host key audit with ssh-audit used as a library, then default
credentials over password and keyboard-interactive authentication with asyncssh."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import secrets
from typing import Any

from iotmark.collect.hostkeys import ssh_public_key_sha256
from iotmark.collect.probe.credentials import Attempt, Pair, login_finding
from iotmark.collect.probe.session import Service, Session, load_data
from iotmark.collect.probe.ssh_advisories import known_vulnerabilities
from iotmark.model import Finding

log = logging.getLogger(__name__)
SERVICES = ("ssh",)
DEFAULT_CHECK = "probe.ssh.weak_algorithms"


@functools.lru_cache(maxsize=1)
def _policy() -> list[re.Pattern[str]]:
    raw = load_data("ssh.yaml")
    return [re.compile(p) for p in raw["ignore_failures"]]


def audit_server(address: str, port: int, timeout: float) -> dict[str, Any]:
    """ssh-audit's view of the server (banner, algorithms with notes, host key sizes); blocking."""
    from ssh_audit.hostkeytest import HostKeyTest
    from ssh_audit.outputbuffer import OutputBuffer
    from ssh_audit.ssh2_kex import SSH2_Kex
    from ssh_audit.ssh_audit import build_struct
    from ssh_audit.ssh_socket import SSH_Socket

    out = OutputBuffer()
    sock = SSH_Socket(out, address, port, [], timeout, True)
    try:
        error = sock.connect()
        if error:
            raise OSError(error)
        banner, _header, error = sock.get_banner()
        if banner is None:
            raise OSError(f"no SSH banner: {error or 'nothing received'}")
        sock.send_kexinit()
        kind, payload = sock.read_packet()
        if kind != 20:  # SSH_MSG_KEXINIT
            raise OSError(f"no KEXINIT from the server (message {kind})")
        kex = SSH2_Kex.parse(out, payload)
        # One connection per host key type, to learn the key sizes the KEXINIT does not tell.
        HostKeyTest.run(out, sock, kex)
        report = build_struct(address, banner, kex)
        report["host_key_blobs"] = [info["raw_hostkey_bytes"] for info in kex.host_keys().values()
                                    if isinstance(info.get("raw_hostkey_bytes"), bytes)]
        return report
    finally:
        sock.close()


def served_host_keys(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(key type, SPKI sha256) of each distinct host key the server showed, for comparison with firmware keys."""
    keys: dict[str, str] = {}
    for blob in report.get("host_key_blobs", []):
        try:
            kind, digest = ssh_public_key_sha256(blob)
        except ValueError:  # certificates and key types cryptography cannot load are not comparable
            continue
        keys.setdefault(digest, kind)
    return [(kind, digest) for digest, kind in keys.items()]


def weak_algorithms(report: dict[str, Any]) -> list[str]:
    """Algorithms ssh-audit fails, except the failures our policy (data/ssh.yaml) does not count."""
    ignored = _policy()
    weak = []
    for section in ("kex", "key", "enc", "mac"):
        for entry in report.get(section, []):
            reasons = [r for r in entry.get("notes", {}).get("fail", []) if r and not any(p.search(r) for p in ignored)]
            if reasons:
                size = f" ({entry['keysize']} bits)" if entry.get("keysize") else ""
                weak.append(f"{section} {entry['algorithm']}{size}: {'; '.join(reasons)}")
    return weak


async def run(session: Session, service: Service) -> list[Finding]:
    """Algorithm audit, then default credentials if the server takes passwords at all."""
    findings: list[Finding] = []
    timeout = session.options.read_timeout + session.options.connect_timeout
    try:
        async with session.gate.slot():
            report = await asyncio.wait_for(
                asyncio.to_thread(audit_server, session.address, service.port, timeout), timeout * 6)
    except (OSError, TimeoutError, ValueError) as exc:
        findings.append(session.not_tested(DEFAULT_CHECK, f"ssh-audit could not complete: {exc}", service))
    else:
        weak = weak_algorithms(report)
        banner = report.get("banner", {}).get("raw") or service.banner
        served = served_host_keys(report)
        keys = {"host_key_type": [kind for kind, _ in served] or None,
                "host_key_sha256": [digest for _, digest in served] or None}
        if weak:
            findings.append(session.finding(
                "probe.ssh.weak_algorithms", "fail", f"{len(weak)} weak algorithms offered: " + " | ".join(weak)[:900],
                service, banner=banner, excerpt=", ".join(w.split(":")[0] for w in weak)[:500], **keys))
        else:
            offered = ", ".join(e["algorithm"] for e in report.get("key", []))
            findings.append(session.finding("probe.ssh.reviewed", "pass",
                                            f"no weak key exchange, cipher, MAC or host key; host keys: {offered}",
                                            service, banner=banner, **keys))
        findings += known_vulnerabilities(session, service, report)
    findings.append(await _credentials(session, service))
    return findings


async def _credentials(session: Session, service: Service) -> Finding:
    probe_user = f"iotmark-{secrets.token_hex(3)}"
    try:
        methods = await _password_offered(session, service, probe_user)
    except (OSError, TimeoutError, ValueError) as exc:
        return session.not_tested("probe.credentials.default_login", f"SSH login could not start: {exc}", service)
    if not methods:
        return session.finding("probe.credentials.rejected", "pass",
                               "SSH offers neither password nor keyboard-interactive logins; default passwords "
                               "cannot work", service, title="Default credentials rejected")
    return await login_finding(session, service, lambda pair: _login(session, service, pair))


def _client_class(password: str, asked: list[bool]):  # type: ignore[no-untyped-def]
    """asyncssh client callbacks that give `password` once per method and note that the server asked."""
    import asyncssh

    class Client(asyncssh.SSHClient):
        def __init__(self) -> None:
            self.given: set[str] = set()

        def _once(self, method: str) -> bool:
            asked.append(True)
            first = method not in self.given
            self.given.add(method)
            return first

        def password_auth_requested(self):  # type: ignore[no-untyped-def]
            return password if self._once("password") else None

        def kbdint_auth_requested(self):  # type: ignore[no-untyped-def]
            return "" if self._once("kbdint") else None

        def kbdint_challenge_received(self, name, instructions, lang, prompts):  # type: ignore[no-untyped-def]
            return [password for _prompt, _echo in prompts]

    return Client


async def _attempt(session: Session, service: Service, user: str, password: str) -> tuple[bool, bool]:
    """(logged in, password-style authentication offered) for one login attempt."""
    import asyncssh

    asked: list[bool] = []
    timeout = session.options.connect_timeout + session.options.read_timeout * 2
    async with session.gate.slot():
        try:
            async with asyncio.timeout(timeout + 5):
                conn = await asyncssh.connect(
                    session.address, service.port, username=user, known_hosts=None, client_keys=None,
                    agent_path=None, preferred_auth="password,keyboard-interactive", connect_timeout=timeout,
                    login_timeout=timeout, client_factory=_client_class(password, asked))
                conn.close()
                return True, True
        except asyncssh.PermissionDenied:
            return False, bool(asked)
        except asyncssh.Error as exc:
            raise OSError(f"SSH error: {exc}") from None


async def _password_offered(session: Session, service: Service, user: str) -> bool:
    accepted, asked = await _attempt(session, service, user, secrets.token_urlsafe(12))
    return accepted or asked


async def _login(session: Session, service: Service, pair: Pair) -> Attempt:
    accepted, _ = await _attempt(session, service, pair.user, pair.password)
    return Attempt.ACCEPTED if accepted else Attempt.REJECTED
