"""The probe pipeline: discover services, run every protocol module that applies to each one concurrently
under per-check and overall deadlines, and record what could not complete as `not_tested` findings.

Protocol modules never know about each other or about scheduling. Each one states the services it
takes (`SERVICES`, or an `applies(service)` function), the check its failures are reported under
(`DEFAULT_CHECK`), and `async run(session, service) -> list[Finding]`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from iotmark.collect.probe.ports import discover
from iotmark.collect.probe.session import ProbeOptions, Service, Session
from iotmark.model import Bundle, EvidenceSource, Finding, Target, canonical_json, sha256_hex

log = logging.getLogger(__name__)
PROTOCOL_MODULES = ("telnet", "ssh", "tls", "http", "mqtt", "coap", "upnp", "ftp", "snmp")
DEFAULT_DEVICE_CLASS = "consumer-general"


@dataclass
class ProbeResult:
    """Everything one probe run saw: services, findings and how the connection limits held."""

    address: str
    services: list[Service]
    findings: list[Finding]
    started: dt.datetime
    seconds: float
    peak_connections: int
    connections: int
    stats: dict[str, Any] = field(default_factory=dict)

    def observed(self) -> dict[str, Any]:
        """What was observed, as plain data: the digest of this is the evidence source's sha256."""
        return {"address": self.address, "services": [s.observed() for s in self.services],
                "findings": [f.model_dump(mode="json") for f in self.findings]}


class ProbeError(Exception):
    """The probe cannot start (bad address, bad options); one line for the user."""


def resolve_address(address: str) -> str:
    """An IP literal for `address`; a host name is resolved once so all traffic goes to that one address."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProbeError(f"cannot resolve {address!r}: {exc.strerror}") from None
    return str(infos[0][4][0])


def _modules(options: ProbeOptions) -> list[ModuleType]:
    names = [n for n in PROTOCOL_MODULES if options.protocols is None or n in options.protocols]
    return [importlib.import_module(f"iotmark.collect.probe.{name}") for name in names]


def _applies(module: ModuleType, service: Service) -> bool:
    applies = getattr(module, "applies", None)
    if applies is not None:
        return bool(applies(service))
    return service.name in getattr(module, "SERVICES", ())


async def _run_check(session: Session, module: ModuleType, service: Service) -> list[Finding]:
    name = module.__name__.rsplit(".", 1)[-1]
    check = getattr(module, "DEFAULT_CHECK", "probe.ports.discovery")
    try:
        async with asyncio.timeout(session.options.check_timeout):
            return await module.run(session, service)
    except TimeoutError:
        return [session.not_tested(check, f"{name} check on port {service.port} did not finish within "
                                          f"{session.options.check_timeout:.0f}s", service)]
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a protocol module must never take the whole probe down
        log.warning("%s check on %s:%d failed: %r", name, session.address, service.port, exc)
        log.debug("traceback", exc_info=True)
        return [session.finding(check, "error", f"{name} check on port {service.port} failed: "
                                                f"{type(exc).__name__}: {exc}"[:300], service)]


async def probe_async(address: str, options: ProbeOptions | None = None) -> ProbeResult:
    """Probe one device: discovery, then every applicable protocol check, within `options.deadline`."""
    options = options or ProbeOptions()
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    clock = time.monotonic()
    session = Session(resolve_address(address), options)
    findings: list[Finding] = []
    services: list[Service] = []
    try:
        async with asyncio.timeout(options.deadline):
            services, found = await discover(session)
            findings += found
    except TimeoutError:
        findings.append(session.not_tested("probe.ports.discovery",
                                           f"discovery did not finish within the {options.deadline:.0f}s deadline"))
    jobs: dict[asyncio.Task[list[Finding]], tuple[ModuleType, Service]] = {}
    for service in services:
        for module in _modules(options):
            if _applies(module, service):
                jobs[asyncio.create_task(_run_check(session, module, service))] = (module, service)
    if jobs:
        left = max(0.0, options.deadline - (time.monotonic() - clock))
        done, pending = await asyncio.wait(jobs, timeout=left)
        for task in pending:
            task.cancel()
            module, service = jobs[task]
            findings.append(session.not_tested(getattr(module, "DEFAULT_CHECK", "probe.ports.discovery"),
                                               f"overall deadline of {options.deadline:.0f}s reached", service))
        for task in jobs:
            if task in done:
                findings += task.result()
        await asyncio.gather(*pending, return_exceptions=True)
    return ProbeResult(address=session.address, services=services, findings=findings, started=started,
                       seconds=time.monotonic() - clock, peak_connections=session.gate.stats.peak,
                       connections=session.gate.stats.opened)


def default_target(address: str) -> Target:
    """A target for a device known only by its address."""
    return Target(vendor="unknown", model=f"device at {address}", firmware_version="unknown",
                  device_class=DEFAULT_DEVICE_CLASS, description="network probe without a target.yaml")


def to_bundle(result: ProbeResult, target: Target | None = None) -> Bundle:
    """The probe's evidence bundle; its source digest covers exactly what was observed."""
    from iotmark import __version__

    source = EvidenceSource(kind="probe", name=result.address, sha256=sha256_hex(canonical_json(result.observed())),
                            collected_at=result.started, tool=f"iotmark {__version__} network probe")
    return Bundle(target=target or default_target(result.address), findings=result.findings, sources=[source])


def probe_device(address: str, options: ProbeOptions | None = None, target: Target | None = None) -> Bundle:
    """Probe `address` and return the evidence bundle (blocking; runs its own event loop)."""
    return to_bundle(asyncio.run(probe_async(address, options)), target)
