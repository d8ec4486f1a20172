"""Known vulnerabilities of the SSH server software, from the version in its banner.

ssh-audit identifies the product and version (and names CVEs in its notes on algorithms, such as Terrapin);
the offline vulnerability data (vulns/) says which advisories cover that version. A version string can lie
and distributions back-port fixes, so these findings carry a confidence below 1; a banner with a distribution
revision is reported not_tested with the CVEs named, and a CVE whose counter-measure the server announces
(data/ssh.yaml) is reported as defended.
"""

from __future__ import annotations

import re
from typing import Any

from iotmark.collect.probe.session import Service, Session, load_data
from iotmark.model import Finding
from iotmark.vulns import Advisory, VersionError, VulnDB, identify

CHECK = "probe.ssh.known_vulnerability"
CVE = re.compile(r"CVE-\d{4}-\d{4,7}")
VERSION_CONFIDENCE = 0.7  # the banner names the version; nothing confirms the code behind it
NOTE_CONFIDENCE = 0.9  # ssh-audit saw the vulnerable algorithm offered without its countermeasure
# ssh-audit's product names → the component names the vulnerability data uses.
COMPONENTS = {"OpenSSH": "openssh", "Dropbear SSH": "dropbear", "libssh": "libssh"}
DISTRO_REVISION = re.compile(r"^(Debian|Ubuntu|Raspbian)-(\S+)")


def server_software(banner: str) -> tuple[str, str, str | None] | None:
    """(component, version, distribution revision) of an SSH banner as ssh-audit reads it, or None."""
    from ssh_audit.banner import Banner
    from ssh_audit.software import Software

    parsed = Banner.parse(banner)
    software = Software.parse(parsed) if parsed is not None else None
    if software is None or software.product not in COMPONENTS:
        return None
    version = software.version + (software.patch or "")
    revision = DISTRO_REVISION.match(parsed.comments or "") if parsed is not None else None
    return COMPONENTS[software.product], version, revision.group(2) if revision else None


def note_cves(report: dict[str, Any]) -> dict[str, list[str]]:
    """CVE id → the algorithms whose ssh-audit notes (fail or warn) name it."""
    found: dict[str, list[str]] = {}
    for section in ("kex", "key", "enc", "mac"):
        for entry in report.get(section, []):
            notes = entry.get("notes", {})
            for text in notes.get("fail", []) + notes.get("warn", []):
                for cve in CVE.findall(text or ""):
                    found.setdefault(cve, [])
                    if entry["algorithm"] not in found[cve]:
                        found[cve].append(entry["algorithm"])
    return found


def known_vulnerabilities(session: Session, service: Service, report: dict[str, Any],
                          db: VulnDB | None = None) -> list[Finding]:
    """One finding per advisory covering the server's version, plus CVEs ssh-audit names for its algorithms."""
    banner = report.get("banner", {}).get("raw") or service.banner
    software = server_software(banner)
    findings: list[Finding] = []
    covered: set[str] = set()
    if software is not None:
        name, version, revision = software
        component = f"{name} {version}"
        db = db or VulnDB.load()
        try:
            advisories = db.match_identified(identify(name, version))
        except VersionError:
            advisories = []
        announced = {entry["algorithm"] for entry in report.get("kex", [])}
        marker = load_data("ssh.yaml").get("countermeasures", {})
        countered = [a for a in advisories if a.cves and all(marker.get(c) in announced for c in a.cves)]
        advisories = [a for a in advisories if a not in countered]
        if countered:
            cves = sorted({c for a in countered for c in a.cves})
            shown = ", ".join(sorted({marker[c] for c in cves}))
            findings.append(session.finding(
                CHECK, "pass", f"{component}: advisories name {', '.join(cves)} for this version, but the server "
                f"announces the counter-measure ({shown})", service, banner=banner, excerpt=", ".join(cves),
                title="SSH server defends against the advisories for its version"))
        # A banner shows the upstream version and a revision but not the package's full version (epoch), so
        # neither upstream nor distribution ranges settle a distribution build: report, do not claim.
        unconfirmed = advisories if revision else []
        for adv in advisories:
            if adv not in unconfirmed:
                covered.update(adv.cves)
                findings.append(_advisory_finding(session, service, banner, component, adv))
        if unconfirmed:
            cves = sorted({c for a in unconfirmed for c in a.cves})
            findings.append(session.not_tested(
                CHECK, f"{component} carries the distribution revision {revision}: upstream advisories "
                f"{', '.join(cves)} name this version, but the distribution back-ports fixes and the banner does not "
                "give the full package version; check the package on the device", service, banner=banner,
                excerpt=", ".join(cves)))
    else:
        component = printable_banner(banner)
    for cve, algorithms in sorted(note_cves(report).items()):
        if cve not in covered:
            found = session.finding(
                CHECK, "fail", f"ssh-audit: the server offers {', '.join(algorithms)} without the counter-measure "
                f"to {cve}", service, banner=banner, excerpt=", ".join(algorithms)[:500],
                title=f"SSH server is exposed to {cve}")
            findings.append(found.model_copy(update={"cve": [cve], "component": component,
                                                     "confidence": NOTE_CONFIDENCE}))
    return [f if f.component else f.model_copy(update={"component": component}) for f in findings]


def printable_banner(banner: str) -> str:
    return banner.removeprefix("SSH-2.0-")[:100]


def _advisory_finding(session: Session, service: Service, banner: str, component: str, adv: Advisory) -> Finding:
    notes = [adv.summary.rstrip(".") + "." if adv.summary else "", f"Affected versions: {adv.describe_affected()}.",
             "Identified from the SSH banner version."]
    if adv.known_exploited:
        notes.append("Listed as exploited in the wild (CISA KEV).")
    found = session.finding(CHECK, "fail", " ".join(n for n in notes if n), service,
                            severity="critical" if adv.known_exploited else adv.severity,
                            title=f"{component} has {adv.cves[0]}", banner=banner, excerpt=", ".join(adv.cves))
    return found.model_copy(update={"cve": list(adv.cves), "component": component, "confidence": VERSION_CONFIDENCE})
