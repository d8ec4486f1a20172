"""Components in an image (version strings in binaries, opkg/ipkg/dpkg databases, the kernel's module
folder) and their known vulnerabilities from the offline data in iotmark.vulns (issue 4 part 5)."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from iotmark.collect.base import make_finding
from iotmark.collect.firmware.corpus import Corpus, evidence
from iotmark.model import Component, Finding
from iotmark.vulns import Advisory, ComponentId, VersionError, VulnDB, identify

log = logging.getLogger(__name__)

PACKAGE_CONFIDENCE = 1.0
DISTRO_CONFIDENCE = 0.6  # a distribution revision may carry back-ported fixes
MODULES_CONFIDENCE = 0.85
MODULES_DIR = re.compile(r"^lib/modules/(\d+\.\d+(?:\.\d+)?)[^/]*/")
MAX_HITS_PER_FILE = 8
OPKG_RELEASE = re.compile(r"^(\d[^-]*)-(?:r)?\d+(?:\.\d+)*$")


@functools.lru_cache(maxsize=1)
def signature_table() -> dict[str, Any]:
    """Binary version signatures and package database locations (data/signatures.yaml)."""
    raw = yaml.safe_load(resources.files("iotmark.collect.firmware").joinpath("data/signatures.yaml").read_text("utf-8"))
    for sig in raw["signatures"]:
        sig["anchor_bytes"] = sig["anchor"].encode()
        sig["regex"] = re.compile(sig["pattern"].encode())
    return raw


@dataclass
class Sighting:
    """One component seen at one place: a component with its version, where, and how sure we are."""

    component: Component
    path: str
    how: str
    confidence: float
    line: int | None = None
    offset: int | None = None
    excerpt: str = ""
    distro: bool = False
    match_version: str | None = None  # version to match when it differs from the recorded one


def _cpe(vendor: str, product: str, version: str) -> str:
    return f"cpe:2.3:a:{vendor}:{product}:{version}:*:*:*:*:*:*:*"


@dataclass
class ComponentScanner:
    """Collects sightings file by file during the single pass over the root."""

    sightings: list[Sighting] = field(default_factory=list)

    def scan_binary(self, rel: str, data: bytes) -> None:
        """Record the version strings of known components found in a binary."""
        seen: set[tuple[str, str]] = set()
        for sig in signature_table()["signatures"]:
            if sig["anchor_bytes"] not in data:
                continue
            for m in sig["regex"].finditer(data):
                version = m.group(1).decode("ascii", "replace")
                if (sig["component"], version) in seen or len(seen) >= MAX_HITS_PER_FILE:
                    continue
                seen.add((sig["component"], version))
                comp = Component(name=sig["component"], version=version,
                                 purl=f"pkg:generic/{sig['component']}@{version}",
                                 cpe=_cpe(sig["vendor"], sig["product"], version))
                self.sightings.append(Sighting(comp, rel, "version string", sig["confidence"], offset=m.start(),
                                               excerpt=m.group(0).decode("ascii", "replace")))

    def scan_packages(self, corpus: Corpus) -> None:
        """Record the installed packages of opkg/ipkg/dpkg databases, and the kernel's module folder."""
        table = signature_table()
        for db in table["package_databases"]:
            if db["path"] in corpus.texts:
                self._stanzas(corpus, db["path"], db["type"])
        for rel in corpus.texts:
            if rel.startswith(tuple(table["package_control_dirs"])) and rel.endswith(".control"):
                self._stanzas(corpus, rel, "generic")
        kernels = {m.group(1): rel for rel in corpus.paths if (m := MODULES_DIR.match(rel))}
        for version, rel in sorted(kernels.items()):
            comp = Component(name="linux_kernel", version=version, purl=f"pkg:generic/linux@{version}",
                             cpe=_cpe("linux", "linux_kernel", version))
            folder = "/".join(rel.split("/")[:3])
            self.sightings.append(Sighting(comp, folder, "kernel modules folder", MODULES_CONFIDENCE,
                                           excerpt=f"/{folder}/"))

    def _stanzas(self, corpus: Corpus, rel: str, ptype: str) -> None:
        fields: dict[str, tuple[int, str]] = {}
        lines = list(corpus.lines(rel)) + [(0, "")]
        for number, line in lines:
            if line.strip():
                key, sep, value = line.partition(":")
                if sep and not line[0].isspace():
                    fields[key.strip().lower()] = (number, value.strip())
                continue
            name, version = fields.get("package"), fields.get("version")
            status = fields.get("status", (0, "installed"))[1]
            if name and version and "installed" in status and "not-installed" not in status:
                self._package(rel, ptype, name, version)
            fields = {}

    def _package(self, rel: str, ptype: str, name: tuple[int, str], version: tuple[int, str]) -> None:
        purl = f"pkg:{ptype}/{name[1]}@{version[1]}"
        ident = identify(name[1], version[1], purl)
        distro, upstream = ident.distro, None
        release = OPKG_RELEASE.match(version[1]) if ptype == "generic" else None
        if release:
            # opkg/ipkg "2.80-16.3": the package release may carry back-ported fixes, like a distro revision.
            distro, upstream = True, release.group(1)
        comp = Component(name=name[1], version=version[1], purl=purl)
        self.sightings.append(Sighting(comp, rel, "package database", DISTRO_CONFIDENCE if distro else
                                       PACKAGE_CONFIDENCE, line=name[0], excerpt=f"Package: {name[1]} Version: {version[1]}",
                                       distro=distro, match_version=upstream))

    # ------------------------------------------------------------ results

    def merged(self) -> list[Sighting]:
        """One sighting per component and version: package databases first, then the most confident."""
        best: dict[tuple[str, str | None], Sighting] = {}
        order = {"package database": 0, "version string": 1, "kernel modules folder": 2}
        for s in self.sightings:
            key = _identity(s)
            current = best.get(key)
            if current is None or _rank(s, order) < _rank(current, order):
                best[key] = s
        return sorted(best.values(), key=lambda s: (s.component.name, s.component.version or ""))

    def findings(self, corpus: Corpus, db: VulnDB) -> tuple[list[Component], list[Finding]]:
        """Components, known-vulnerability findings, and the inventory/no-vulnerability summaries."""
        merged = self.merged()
        findings: list[Finding] = []
        checked = 0
        for s in merged:
            comp = s.component
            ident = _ident(s)
            try:
                advisories = db.match_identified(ident) if ident.version else []
            except VersionError:
                log.debug("unreadable version %r of %s in /%s", comp.version, comp.name, s.path)
                continue
            checked += 1
            findings += [_vulnerability(corpus, s, adv) for adv in advisories]
        if not merged:
            findings.append(make_finding(
                "firmware.components.inventory", "not_tested",
                "No component could be identified from version strings, package databases or kernel modules.",
                evidence=evidence(corpus, "")))
            return [], findings
        listed = "; ".join(f"{s.component.name} {s.component.version} (/{s.path}, {s.how})" for s in merged)
        findings.append(make_finding("firmware.components.inventory", "pass",
                                     f"Identified {len(merged)} components: {listed}.",
                                     evidence=evidence(corpus, "")))
        if checked and not any(f.check == "firmware.component.known_vulnerability" for f in findings):
            findings.append(make_finding(
                "firmware.components.no_known_vulnerability", "pass",
                f"None of the {checked} identified components has a known vulnerability in the offline data "
                f"({len(db)} advisories).", evidence=evidence(corpus, "")))
        return [self._located(s) for s in merged], findings

    def _located(self, chosen: Sighting) -> Component:
        """The chosen sighting's component with its confidence and every place it was seen."""
        key = _identity(chosen)
        places = sorted({"/" + s.path for s in self.sightings if _identity(s) == key})
        return chosen.component.model_copy(update={"confidence": chosen.confidence, "found_in": places})


def _ident(s: Sighting) -> ComponentId:
    comp = s.component
    ident = identify(comp.name, comp.version, comp.purl, comp.cpe)
    if s.match_version:
        ident = ComponentId(ident.name, s.match_version, comp.version, True, ident.purl_type)
    return ident


def _identity(s: Sighting) -> tuple[str, str | None]:
    ident = _ident(s)
    return ident.name, ident.version


def _rank(s: Sighting, order: dict[str, int]) -> tuple[int, float, bool, str]:
    # Prefer package records, then confidence, then the program named after the component (dropbear, not dbclient).
    named = s.component.name.split("_")[0] in s.path.rsplit("/", 1)[-1]
    return order[s.how], -s.confidence, not named, s.path


def _vulnerability(corpus: Corpus, s: Sighting, adv: Advisory) -> Finding:
    comp = s.component
    notes = [adv.summary.rstrip(".") + "." if adv.summary else "",
             f"Affected versions: {adv.describe_affected()}.",
             f"Identified from {s.how} /{s.path}."]
    if adv.known_exploited:
        notes.append("Listed as exploited in the wild (CISA KEV).")
    if s.distro:
        notes.append("The package carries a distribution revision; back-ported fixes are possible.")
    return make_finding(
        "firmware.component.known_vulnerability", "fail", " ".join(n for n in notes if n),
        title=f"{comp.name} {comp.version} has {adv.cves[0]}",
        severity="critical" if adv.known_exploited else adv.severity,
        evidence=evidence(corpus, s.path, line=s.line, offset=s.offset, excerpt=s.excerpt),
        confidence=s.confidence, cve=adv.cves, component=comp.name)
