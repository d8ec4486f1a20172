"""Facts every renderer states the same way: who made the report, when, where a finding was seen,
and a finding's stable fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress

from iotmark import __version__
from iotmark.model import SEVERITY_ORDER, Assessment, Bundle, Evidence, Finding

TOOL_NAME = "iotmark"
# Placeholder until the project has a public home; every format that needs a URL for the tool uses this one.
INFORMATION_URI = "https://iotmark.example/"


def tool_version() -> str:
    return __version__


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Timezone-aware UTC; naive times in user files are taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def document_time(bundle: Bundle, assessment: Assessment | None) -> dt.datetime:
    """The time a report speaks for: the assessment if there is one, else the bundle.

    Never "now", so that rendering the same inputs twice gives the same bytes.
    """
    return as_utc(assessment.assessed_at if assessment is not None else bundle.created)


def endpoint(evidence: Evidence) -> str | None:
    """`address:port` for network evidence (IPv6 in brackets), or None when no address was recorded."""
    if not evidence.address:
        return None
    host = evidence.address
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a host name
    return f"{host}:{evidence.port}" if evidence.port is not None else host


def location(evidence: Evidence) -> str | None:
    """One short human-readable place: `path:line`, `address:port`, or the evidence source file."""
    if evidence.path:
        return f"{evidence.path}:{evidence.line}" if evidence.line is not None else evidence.path
    return endpoint(evidence) or evidence.source


def fingerprint(finding: Finding) -> str:
    """sha256 of the finding's key: the same finding in a later run of the same device gets the same value."""
    return hashlib.sha256(finding.key.encode("utf-8")).hexdigest()


def by_severity(findings: list[Finding]) -> list[Finding]:
    """Most severe first; ties keep their bundle order."""
    return sorted(findings, key=lambda f: -SEVERITY_ORDER[f.severity])
