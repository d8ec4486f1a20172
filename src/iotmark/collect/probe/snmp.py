"""SNMP: discovery asks for sysDescr with the community "public"; an answer means anyone on the network
can read (and on many devices write) the management data with a default credential."""

from __future__ import annotations

from iotmark.collect.probe.session import Service, Session, printable
from iotmark.model import Finding

SERVICES = ("snmp",)
DEFAULT_CHECK = "probe.snmp.default_community"


async def run(session: Session, service: Service) -> list[Finding]:
    """Discovery's request used the default community; a reply is the finding."""
    if not service.reply.startswith(b"\x30"):
        return [session.not_tested(DEFAULT_CHECK, "reply on UDP 161 is not SNMP", service)]
    return [session.finding(DEFAULT_CHECK, "fail", "SNMP answered a GetRequest with the community 'public'",
                            service, excerpt=printable(service.reply, 120), banner=printable(service.reply, 120))]
