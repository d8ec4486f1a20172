"""The offline vulnerability database: shipped data plus the user's imports, matched by component and version."""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml
from pydantic import ValidationError

from iotmark.model import SEVERITY_ORDER, Component
from iotmark.vulns.advisory import Advisory, distro_family
from iotmark.vulns.names import ComponentId, identify
from iotmark.vulns.versions import VersionError, parse_version

log = logging.getLogger(__name__)

STORE_SCHEMA = "iotmark-vulns/1"
MAX_DATA_FILE_BYTES = 512 * 1024 * 1024
SHIPPED_FILES = ("embedded.yaml",)


class VulnImportError(ValueError):
    """Input that cannot be imported; the message is one line naming the file and the field."""


class VulnDataError(VulnImportError):
    """A stored or hand-written data file that cannot be loaded (one line naming the file and the problem)."""


def user_data_dir() -> Path:
    """Where imported vulnerability data lives: $IOTMARK_HOME/vulns (IOTMARK_HOME defaults to ~/.iotmark)."""
    home = os.environ.get("IOTMARK_HOME") or "~/.iotmark"
    return Path(home).expanduser() / "vulns"


def _entries(data: Any, where: str) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("advisories"), list):
        return data["advisories"]
    if isinstance(data, list):
        return data
    raise VulnDataError(f"{where}: expected a list of advisories or a mapping with 'advisories'")


def parse_advisories(data: Any, where: str, source: str) -> list[Advisory]:
    """Validate advisories in our own format (YAML or JSON already decoded)."""
    out = []
    for i, entry in enumerate(_entries(data, where)):
        if isinstance(entry, dict):
            entry = {**entry, "source": entry.get("source") or source}
        try:
            out.append(Advisory.model_validate(entry))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            ident = entry.get("id", "?") if isinstance(entry, dict) else "?"
            raise VulnDataError(f"{where}: advisories[{i}] ({ident}) {loc}: {err['msg']}") from None
    return out


def _read_data_file(path: Path) -> list[Advisory]:
    if path.stat().st_size > MAX_DATA_FILE_BYTES:
        raise VulnDataError(f"{path}: larger than 512 MiB; split it")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise VulnDataError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: {exc}") from None
    return parse_advisories(data, str(path), path.name)


class VulnDB:
    """Advisories indexed by canonical component id."""

    def __init__(self, advisories: Iterable[Advisory] = ()) -> None:
        # Later advisories replace earlier ones with the same id, component and ecosystem, so user
        # imports override the shipped entries.
        latest: dict[tuple[str, str, str], Advisory] = {}
        for adv in advisories:
            latest[(adv.id, adv.component, adv.ecosystem)] = adv
        self._by_component: dict[str, list[Advisory]] = defaultdict(list)
        for adv in latest.values():
            self._by_component[adv.component].append(adv)

    @classmethod
    def load(cls, extra_dirs: list[Path] | None = None) -> VulnDB:
        """Shipped data, then *.json/*.yaml in user_data_dir(), then in each of `extra_dirs`."""
        advisories: list[Advisory] = []
        data = resources.files("iotmark.vulns").joinpath("data")
        for name in SHIPPED_FILES:
            advisories += parse_advisories(yaml.safe_load(data.joinpath(name).read_text(encoding="utf-8")), name, name)
        for folder in [user_data_dir(), *(extra_dirs or [])]:
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
                    advisories += _read_data_file(path)
        db = cls(advisories)
        log.debug("loaded %d advisories", len(db))
        return db

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_component.values())

    def __iter__(self) -> Iterator[Advisory]:
        for advisories in self._by_component.values():
            yield from advisories

    def components(self) -> list[str]:
        """Canonical ids of the components with at least one advisory."""
        return sorted(self._by_component)

    def match(self, name: str, version: str) -> list[Advisory]:
        """Advisories affecting `name` (package name, purl or CPE) at `version`. Raises VersionError."""
        low = name.strip().lower()
        if low.startswith("pkg:"):
            component = Component(name="", version=version, purl=name)
        elif low.startswith("cpe:"):
            component = Component(name="", version=version, cpe=name)
        else:
            component = Component(name=name, version=version)
        return self.match_component(component)

    def match_component(self, component: Component) -> list[Advisory]:
        """Advisories affecting a component; [] if it has no version. Raises VersionError on a bad version."""
        ident = identify(component.name, component.version, component.purl, component.cpe)
        return self.match_identified(ident)

    def match_identified(self, ident: ComponentId) -> list[Advisory]:
        """Advisories for an already identified component (see names.identify)."""
        if not ident.version:
            return []
        upstream = parse_version(ident.version)
        candidates = self._by_component.get(ident.name, [])
        distro_hits: list[Advisory] = []
        distro_seen: set[str] = set()
        if ident.distro and ident.raw_version:
            # Distribution data knows about back-ported fixes, so it decides for the CVEs it covers.
            try:
                raw = parse_version(ident.raw_version)
            except VersionError:
                raw = None
            for adv in candidates:
                if raw is not None and distro_family(adv.ecosystem) == ident.purl_type:
                    distro_seen.update(adv.cves)
                    if adv.affects(raw):
                        distro_hits.append(adv)
        hits = [
            adv
            for adv in candidates
            if distro_family(adv.ecosystem) is None
            and not distro_seen.intersection(adv.cves)
            and adv.affects(upstream)
        ]
        found = distro_hits + hits
        found.sort(key=lambda a: (-SEVERITY_ORDER[a.severity], -(a.cvss or 0.0), a.id))
        return found
