"""FTP: anonymous login, anonymous write (a folder made and removed again), cleartext logins, default
credentials; TFTP: a service that answers a read request without any authentication."""

from __future__ import annotations

import logging
import re
import secrets

from iotmark.collect.probe.credentials import Attempt, Pair, login_finding, mask
from iotmark.collect.probe.session import Service, Session, printable
from iotmark.collect.probe.transport import Stream
from iotmark.model import Finding

log = logging.getLogger(__name__)
SERVICES = ("ftp", "tftp")
DEFAULT_CHECK = "probe.ftp.anonymous"
FINAL_LINE = re.compile(rb"(?m)^(\d{3}) [^\r\n]*\r?\n\Z")
WRITE_FOLDERS = ("/", "/pub", "/upload", "/incoming")  # where anonymous uploads usually go


async def reply(stream: Stream, timeout: float) -> tuple[int, str]:
    """The code and text of one (possibly multi-line) FTP reply; code 0 if none came."""
    data = await stream.read_until(lambda b: bool(FINAL_LINE.search(b)), timeout, 16384)
    match = FINAL_LINE.search(data)
    return (int(match.group(1)) if match else 0), printable(data, 200)


async def command(stream: Stream, line: str, timeout: float) -> tuple[int, str]:
    if not await stream.send(f"{line}\r\n".encode()):
        return 0, ""
    return await reply(stream, timeout)


async def _login(session: Session, stream: Stream, user: str, password: str) -> int:
    """Log in on an open control connection; the final code (230 = logged in)."""
    # Twice the read timeout: a loaded device forks and runs PAM before it greets or answers.
    timeout = session.options.read_timeout * 2
    code, _ = await reply(stream, timeout)
    if code != 220:
        return 0
    code, _ = await command(stream, f"USER {user}", timeout)
    if code == 331:
        # vsftpd and others pause about a second before refusing; give the answer time to come.
        code, text = await command(stream, f"PASS {password}", timeout + 3)
        log.debug("FTP login as %s: %s %s", mask(user), code, text)
    return code


async def _anonymous(session: Session, service: Service) -> list[Finding]:
    timeout = session.options.read_timeout
    findings: list[Finding] = []
    async with session.stream(service.port) as stream:
        code = await _login(session, stream, "anonymous", "iotmark-probe@example.org")
        if code == 0:
            return [session.not_tested(DEFAULT_CHECK, "no FTP greeting or no answer to USER/PASS", service)]
        if code != 230:
            return []
        findings.append(session.finding("probe.ftp.anonymous", "fail",
                                        f"FTP on port {service.port} accepts the anonymous user", service))
        name = f"iotmark-{secrets.token_hex(4)}"
        for folder in WRITE_FOLDERS:
            path = f"{folder.rstrip('/')}/{name}"
            made, text = await command(stream, f"MKD {path}", timeout)
            if made == 257:
                await command(stream, f"RMD {path}", timeout)  # leave the device as we found it
                findings.append(session.finding("probe.ftp.anonymous_write", "fail",
                                                f"anonymous user created (and the probe removed) {path}", service,
                                                path=folder, excerpt=text[:120]))
                break
    return findings


async def _tls_offered(session: Session, service: Service) -> bool:
    async with session.stream(service.port) as stream:
        code, _ = await reply(stream, session.options.read_timeout)
        if code != 220:
            return False
        code, _ = await command(stream, "AUTH TLS", session.options.read_timeout)
    return code == 234


async def _attempt(session: Session, service: Service, pair: Pair) -> Attempt:
    async with session.stream(service.port) as stream:
        code = await _login(session, stream, pair.user, pair.password)
    if code == 230:
        return Attempt.ACCEPTED
    return Attempt.REJECTED if code in (430, 530) else Attempt.ERROR


async def run(session: Session, service: Service) -> list[Finding]:
    """Anonymous access and write, TLS, then default credentials for named users."""
    if service.name == "tftp":
        return [session.finding("probe.tftp.open", "fail",
                                f"TFTP on UDP {service.port} answered a read request from an unknown client",
                                service, excerpt=printable(service.reply[:80]))]
    findings = await _anonymous(session, service)
    if not await _tls_offered(session, service):
        findings.append(session.finding("probe.ftp.cleartext", "fail",
                                        f"FTP on port {service.port} refuses AUTH TLS: logins cross the network in "
                                        "clear", service))
    findings.append(await login_finding(session, service, lambda pair: _attempt(session, service, pair)))
    return findings
