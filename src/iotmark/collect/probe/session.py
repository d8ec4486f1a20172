"""What every probe module shares: the options, the services discovery found, and the session that owns
the only way to reach the target (so no module can send traffic anywhere but the address given)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from iotmark.collect.base import make_finding
from iotmark.collect.probe.transport import ConnectionGate, Stream, insecure_tls_context, udp_exchange
from iotmark.model import Finding, Outcome, Severity

ALL_PORTS = range(1, 65536)
NON_PRINTABLE = re.compile(r"[^\x20-\x7e]+")


@dataclass
class ProbeOptions:
    """Limits and choices for one probe run; defaults suit a device on the local network."""

    ports: list[int] | None = None  # None: every TCP port 1-65535
    udp: bool = True
    concurrency: int = 256
    rate: float = 20000.0  # new connections (and datagrams) per second
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    max_bytes_per_connection: int = 1 << 20
    credential_budget: int = 10  # login attempts per service
    backoff: float = 0.2  # first pause after a refused login; doubles on signs of throttling
    backoff_max: float = 5.0
    credentials: Path | None = None  # user:password lines; default: the shared default-credential list
    check_timeout: float = 90.0  # one protocol module on one service
    deadline: float = 900.0  # the whole probe
    protocols: set[str] | None = None  # None: every protocol module


@dataclass
class Service:
    """One reachable service on the target, as discovery identified it."""

    port: int
    transport: Literal["tcp", "udp"]
    name: str  # telnet, ssh, ftp, http, mqtt, coap, ssdp, mdns, snmp, tftp, unknown
    tls: bool = False
    banner: str = ""
    product: str | None = None
    version: str | None = None
    reply: bytes = field(default=b"", repr=False)  # first UDP reply, for the protocol module to parse

    @property
    def protocol(self) -> str:
        """The protocol name used in evidence: http/https, mqtt/mqtts, ..."""
        if not self.tls:
            return self.name
        return {"http": "https", "mqtt": "mqtts", "ftp": "ftps"}.get(self.name, f"{self.name}+tls")

    def observed(self) -> dict[str, Any]:
        return {"port": self.port, "transport": self.transport, "service": self.name, "tls": self.tls,
                "banner": self.banner, "product": self.product, "version": self.version}


@functools.lru_cache(maxsize=None)
def load_data(name: str) -> Any:
    """A YAML table from probe/data/ (signatures, policies, paths); parsed once per process."""
    text = resources.files("iotmark.collect.probe").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def printable(data: bytes | str, limit: int = 200) -> str:
    """A reply as one short line of printable text, safe to store as evidence."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    return NON_PRINTABLE.sub(" ", text).strip()[:limit]


class Session:
    """The probe's handle on one target: bounded connections to `address` only, and finding construction."""

    def __init__(self, address: str, options: ProbeOptions) -> None:
        self.address = address
        self.options = options
        self.gate = ConnectionGate(options.concurrency, options.rate)
        self._tls = insecure_tls_context()

    @contextlib.asynccontextmanager
    async def stream(self, port: int, tls: bool = False) -> AsyncIterator[Stream]:
        """A capped connection to `port` on the target; raises OSError/TimeoutError when it cannot open."""
        async with self.gate.slot():
            async with asyncio.timeout(self.options.connect_timeout + (self.options.read_timeout if tls else 0)):
                reader, writer = await asyncio.open_connection(
                    self.address, port, ssl=self._tls if tls else None, server_hostname="" if tls else None,
                    limit=64 * 1024)
            stream = Stream(reader, writer, self.options.max_bytes_per_connection)
            try:
                yield stream
            finally:
                await stream.close()

    async def datagram(self, port: int, payload: bytes, timeout: float | None = None) -> bytes | None:
        """One UDP request to `port` on the target and its first reply (None when nothing came back)."""
        async with self.gate.slot():
            return await udp_exchange(self.address, port, payload, timeout or self.options.read_timeout)

    def finding(self, check: str, outcome: Outcome, detail: str, service: Service | None = None, *,
                severity: Severity | None = None, title: str | None = None, **evidence: Any) -> Finding:
        """A finding about this target; evidence gets the address, and the port and protocol of `service`."""
        where: dict[str, Any] = {"address": self.address}
        if service is not None:
            where.update(port=service.port, protocol=service.protocol)
            if service.banner and "banner" not in evidence:
                where["banner"] = service.banner
        where.update({k: v for k, v in evidence.items() if v is not None})
        return make_finding(check, outcome, detail, evidence=where, severity=severity, title=title)

    def not_tested(self, check: str, reason: str, service: Service | None = None, **evidence: Any) -> Finding:
        """The check could not complete: say why; never a pass."""
        return self.finding(check, "not_tested", reason, service, **evidence)
