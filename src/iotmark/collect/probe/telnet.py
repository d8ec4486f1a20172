"""Telnet: option negotiation (every option refused), login prompt detection, and default-credential logins.

A login counts as accepted only when the shell runs a harmless `echo` whose output cannot be the echo of
what we typed (the marker is split by quotes), so a chatty banner or a fake prompt is never a false hit.
"""

from __future__ import annotations

import re
import time

from iotmark.collect.probe.credentials import Attempt, Pair, login_finding
from iotmark.collect.probe.session import Service, Session, printable
from iotmark.model import Finding

SERVICES = ("telnet",)
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
LOGIN_PROMPT = re.compile(rb"(?i)(login|username|user name)\s*:\s*$")
PASSWORD_PROMPT = re.compile(rb"(?i)password\s*:\s*$")
REFUSED = re.compile(rb"(?i)(incorrect|invalid|failed|denied|bad password|wrong)")
SHELL_PROMPT = re.compile(rb"[#$>%]\s*$")
MARKER = b"iotmarkprobe7"
MARKER_COMMAND = b'echo iotmark""probe7\r\n'
MAX_NEGOTIATION_ROUNDS = 40  # a server that keeps negotiating past this is not going to show a prompt


class TelnetSession:
    """A telnet conversation over a capped stream: strips and refuses option negotiation as it reads."""

    def __init__(self, stream, timeout: float) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream
        self.timeout = timeout
        self.text = b""
        self.rounds = 0

    async def read_until(self, *patterns: re.Pattern[bytes], timeout: float | None = None) -> bytes:
        """Read (answering negotiation) until a pattern matches the text so far, or time runs out."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline and self.rounds < MAX_NEGOTIATION_ROUNDS * 4:
            chunk = await self.stream.read(deadline - time.monotonic(), 4096)
            if not chunk:
                break
            self.rounds += 1
            data, reply = strip_negotiation(chunk)
            if reply:
                await self.stream.send(reply)
            self.text = (self.text + data)[-8192:]  # only the tail matters for prompts
            if any(p.search(self.text) for p in patterns):
                break
        return self.text

    async def send_line(self, line: bytes) -> bool:
        self.text = b""
        return await self.stream.send(line + b"\r\n")


def strip_negotiation(data: bytes) -> tuple[bytes, bytes]:
    """Split telnet data into the text and our refusals of every option the server asked about."""
    text = bytearray()
    reply = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte != IAC:
            text.append(byte)
            i += 1
            continue
        command = data[i + 1] if i + 1 < len(data) else None
        if command in (DO, DONT, WILL, WONT) and i + 2 < len(data):
            option = data[i + 2]
            if command == DO:
                reply += bytes([IAC, WONT, option])
            elif command == WILL:
                reply += bytes([IAC, DONT, option])
            i += 3
        elif command == SB:
            end = data.find(bytes([IAC, SE]), i + 2)
            i = len(data) if end < 0 else end + 2
        elif command == IAC:
            text.append(IAC)
            i += 2
        else:
            i += 2
    return bytes(text), bytes(reply)


async def _login(session: Session, service: Service, pair: Pair) -> Attempt:
    timeout = session.options.read_timeout
    async with session.stream(service.port) as stream:
        telnet = TelnetSession(stream, timeout)
        text = await telnet.read_until(LOGIN_PROMPT, PASSWORD_PROMPT, timeout=timeout * 2)
        if LOGIN_PROMPT.search(text):
            await telnet.send_line(pair.user.encode())
            text = await telnet.read_until(PASSWORD_PROMPT, SHELL_PROMPT, REFUSED)
        if not PASSWORD_PROMPT.search(text):
            return Attempt.ERROR
        await telnet.send_line(pair.password.encode())
        # Logins pause after a wrong password (BusyBox: about 3 s), so the verdict gets longer than a read.
        text = await telnet.read_until(SHELL_PROMPT, LOGIN_PROMPT, REFUSED, timeout=max(timeout * 3, 8.0))
        if REFUSED.search(text) or LOGIN_PROMPT.search(text):
            return Attempt.REJECTED
        if not SHELL_PROMPT.search(text):
            return Attempt.ERROR
        return Attempt.ACCEPTED if await _shell_answers(telnet) else Attempt.REJECTED


async def _shell_answers(telnet: TelnetSession) -> bool:
    await telnet.send_line(MARKER_COMMAND.rstrip())
    text = await telnet.read_until(re.compile(re.escape(MARKER)))
    return MARKER in text


async def _first_contact(session: Session, service: Service) -> tuple[bytes, bool]:
    """The text before any login, and whether it is already a shell (no login asked at all)."""
    async with session.stream(service.port) as stream:
        telnet = TelnetSession(stream, session.options.read_timeout)
        text = await telnet.read_until(LOGIN_PROMPT, PASSWORD_PROMPT, SHELL_PROMPT,
                                       timeout=session.options.read_timeout * 2)
        if SHELL_PROMPT.search(text) and not (LOGIN_PROMPT.search(text) or PASSWORD_PROMPT.search(text)):
            return text, await _shell_answers(telnet)
        return text, False


async def run(session: Session, service: Service) -> list[Finding]:
    """Telnet is a finding by itself; then default credentials within the budget."""
    try:
        text, open_shell = await _first_contact(session, service)
    except (OSError, TimeoutError) as exc:
        return [session.not_tested("probe.telnet.open", f"could not talk to telnet on port {service.port}: {exc}",
                                   service)]
    banner = printable(text[-200:]) or service.banner
    findings = [session.finding("probe.telnet.open", "fail",
                                f"port {service.port} speaks telnet, a cleartext remote login", service,
                                banner=banner)]
    if open_shell:
        findings.append(session.finding(
            "probe.credentials.default_login", "fail",
            f"telnet on port {service.port} gives a shell without asking for any credential", service,
            title="Shell without a login", excerpt="(no credential)"))
        return findings
    if not (LOGIN_PROMPT.search(text) or PASSWORD_PROMPT.search(text)):
        findings.append(session.not_tested("probe.credentials.default_login",
                                           "no login prompt seen; default credentials not tried", service,
                                           banner=banner))
        return findings
    findings.append(await login_finding(session, service, lambda pair: _login(session, service, pair)))
    return findings

