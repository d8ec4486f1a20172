"""One advisory: which versions of which component a vulnerability affects, and how bad it is."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from iotmark.vulns.versions import Version, VersionError, parse_version

AdvisorySeverity = Literal["critical", "high", "medium", "low"]

# OSV ecosystems whose versions are distribution package versions (revision included); their
# advisories apply only to packages from that family, compared with the full package version.
DISTRO_ECOSYSTEMS = {
    "debian": "deb", "ubuntu": "deb",
    "alpine": "apk", "wolfi": "apk", "chainguard": "apk",
    "red hat": "rpm", "rocky linux": "rpm", "almalinux": "rpm", "suse": "rpm", "opensuse": "rpm",
    "mageia": "rpm", "openeuler": "rpm", "photon os": "rpm", "azure linux": "rpm",
}


def distro_family(ecosystem: str) -> str | None:
    """Package family (deb, apk, rpm) of a distribution ecosystem such as "Debian:11", else None."""
    return DISTRO_ECOSYSTEMS.get(ecosystem.split(":", 1)[0].strip().lower()) if ecosystem else None


def _check_version(value: str | None, field_name: str) -> str | None:
    if value is None or value == "0":
        return value
    try:
        parse_version(value)
    except VersionError as exc:
        raise ValueError(f"{field_name}: {exc}") from None
    return value


class AffectedRange(BaseModel):
    """Versions from `introduced` (inclusive; "0" = all earlier) up to `fixed` (exclusive) or
    `last_affected` (inclusive); with neither, every later version is affected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    introduced: str = "0"
    fixed: str | None = None
    last_affected: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> AffectedRange:
        if self.fixed is not None and self.last_affected is not None:
            raise ValueError("a range has either fixed or last_affected, not both")
        _check_version(self.introduced, "introduced")
        _check_version(self.fixed, "fixed")
        _check_version(self.last_affected, "last_affected")
        return self

    def contains(self, version: Version) -> bool:
        if self.introduced != "0" and version < parse_version(self.introduced):
            return False
        if self.fixed is not None:
            return version < parse_version(self.fixed)
        if self.last_affected is not None:
            return version <= parse_version(self.last_affected)
        return True

    def describe(self) -> str:
        parts = [] if self.introduced == "0" else [f">= {self.introduced}"]
        if self.fixed is not None:
            parts.append(f"< {self.fixed}")
        elif self.last_affected is not None:
            parts.append(f"<= {self.last_affected}")
        return ", ".join(parts) or "all versions"


class Advisory(BaseModel):
    """A vulnerability in one component. `source` is the data file it was loaded from."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{1,99}$")
    aliases: list[str] = Field(default_factory=list)
    component: str = Field(min_length=1, max_length=200)
    ecosystem: str = ""  # "" = upstream release versions
    affected: list[AffectedRange] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    severity: AdvisorySeverity
    cvss: float | None = Field(default=None, ge=0.0, le=10.0)
    summary: str = Field(default="", max_length=1000)
    references: list[str] = Field(default_factory=list)
    known_exploited: bool = False
    verified: bool = False
    verified_from: str = ""  # what was read to confirm the range, for entries marked verified
    source: str = ""

    _exact: frozenset[Version] = PrivateAttr(default=frozenset())

    @field_validator("versions")
    @classmethod
    def _parseable(cls, value: list[str]) -> list[str]:
        for v in value:
            _check_version(v, "versions")
        return value

    @model_validator(mode="after")
    def _has_versions(self) -> Advisory:
        if not self.affected and not self.versions:
            raise ValueError(f"{self.id}: needs affected ranges or versions")
        self._exact = frozenset(parse_version(v) for v in self.versions)
        return self

    @property
    def cves(self) -> list[str]:
        """CVE ids for this advisory (its id if it is one, else CVE aliases, else its id)."""
        if self.id.upper().startswith("CVE-"):
            return [self.id]
        return [a for a in self.aliases if a.upper().startswith("CVE-")] or [self.id]

    def affects(self, version: str | Version) -> bool:
        """True when `version` lies in one of the ranges or is one of the listed versions."""
        v = version if isinstance(version, Version) else parse_version(version)
        return v in self._exact or any(r.contains(v) for r in self.affected)

    def describe_affected(self) -> str:
        """Human-readable affected versions, e.g. ">= 8.5p1, < 9.8p1; < 4.4p1"."""
        parts = [r.describe() for r in self.affected]
        if self.versions:
            parts.append("exactly " + ", ".join(self.versions))
        return "; ".join(parts)
