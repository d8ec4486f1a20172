"""Which component is this? Package URLs, CPE 2.3 names and package names mapped to one canonical id.

The alias table is data (data/components.yaml). Names not in it keep their lower-cased spelling, so
advisories imported for other packages still match components of the same name.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import unquote

import yaml

from iotmark.vulns.versions import split_distro_version

MAX_IDENTIFIER_LENGTH = 2048


@dataclass(frozen=True)
class Purl:
    """A parsed package URL (pkg:type/namespace/name@version?qualifiers#subpath)."""

    type: str
    namespace: str
    name: str
    version: str | None = None
    qualifiers: dict[str, str] = field(default_factory=dict)
    subpath: str | None = None


@dataclass(frozen=True)
class Cpe:
    """The parts of a CPE name that identify software; `version` includes the update field (8.2 + p1)."""

    part: str
    vendor: str
    product: str
    version: str | None = None


@dataclass(frozen=True)
class ComponentId:
    """A component as the vulnerability data knows it.

    `version` is the upstream version used for matching; `raw_version` what the source said;
    `distro` is true when a distribution revision was stripped (back-ported fixes are possible).
    """

    name: str
    version: str | None
    raw_version: str | None = None
    distro: bool = False
    purl_type: str | None = None


def parse_purl(text: str) -> Purl:
    """Parse a package URL; raise ValueError if it is not one."""
    if not isinstance(text, str) or len(text) > MAX_IDENTIFIER_LENGTH:
        raise ValueError("package URL must be a string of at most 2048 characters")
    scheme, sep, rest = text.strip().partition(":")
    if scheme.lower() != "pkg" or not sep:
        raise ValueError(f"{text!r} is not a package URL (expected pkg:type/name@version)")
    rest = rest.lstrip("/")
    rest, _, subpath = rest.partition("#")
    rest, _, query = rest.partition("?")
    head, slash, tail = rest.rpartition("/")
    if not slash:
        raise ValueError(f"{text!r} has no type/name")
    name, at, version = tail.partition("@")
    segments = head.split("/")
    ptype = segments[0].lower()
    if not re.fullmatch(r"[a-z][a-z0-9.+\-]*", ptype) or not name:
        raise ValueError(f"{text!r} has no valid type and name")
    qualifiers: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        qualifiers[key.lower()] = unquote(value)
    return Purl(
        type=ptype,
        namespace="/".join(unquote(s) for s in segments[1:] if s),
        name=unquote(name),
        version=unquote(version) if at and version else None,
        qualifiers=qualifiers,
        subpath=unquote(subpath) or None,
    )


def _split_cpe(body: str) -> list[str]:
    fields, current, escaped = [], [], False
    for ch in body:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    fields.append("".join(current))
    return fields


def _cpe_value(value: str) -> str | None:
    return None if value in ("", "*", "-", "NA") else value


def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string (or a CPE 2.2 URI); raise ValueError if it is not one."""
    if not isinstance(text, str) or len(text) > MAX_IDENTIFIER_LENGTH:
        raise ValueError("CPE must be a string of at most 2048 characters")
    raw = text.strip()
    low = raw.lower()
    if low.startswith("cpe:2.3:"):
        fields = _split_cpe(raw[8:])
        if len(fields) != 11:
            raise ValueError(f"{text!r} is not a CPE 2.3 name (expected 13 ':'-separated fields)")
    elif low.startswith("cpe:/"):
        fields = [unquote(f) for f in raw[5:].split(":")]
        fields += [""] * (5 - len(fields))
    else:
        raise ValueError(f"{text!r} is not a CPE name (expected cpe:2.3:...)")
    part, vendor, product, version, update = (f.lower() for f in fields[:5])
    if part not in ("a", "o", "h") or not _cpe_value(vendor) or not _cpe_value(product):
        raise ValueError(f"{text!r} does not name a part, vendor and product")
    ver = _cpe_value(version)
    upd = _cpe_value(update)
    if ver and upd:
        ver = ver + upd if upd[0].isalpha() else f"{ver}.{upd}"
    return Cpe(part=part, vendor=vendor, product=product, version=ver)


@functools.lru_cache(maxsize=1)
def _alias_table() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]], dict[str, str]]:
    text = resources.files("iotmark.vulns").joinpath("data/components.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    aliases: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    cpes: dict[str, str] = {}
    for canonical, entry in data.items():
        aliases[canonical] = canonical
        for alias in entry.get("aliases", []):
            aliases[alias] = canonical
        for pattern in entry.get("patterns", []):
            patterns.append((re.compile(pattern), canonical))
        for pair in entry.get("cpe", []):
            cpes[pair] = canonical
    return aliases, patterns, cpes


def _normalise(name: str) -> str:
    return re.sub(r"\s+", "-", name.strip().lower())


def known_component(name: str) -> str | None:
    """The canonical id for a known package name or alias, else None."""
    aliases, patterns, _ = _alias_table()
    key = _normalise(name)
    for candidate in (key, key.replace("_", "-"), key.replace("-", "_")):
        if candidate in aliases:
            return aliases[candidate]
    for pattern, canonical in patterns:
        if pattern.fullmatch(key):
            return canonical
    return None


def canonical_name(name: str) -> str:
    """Canonical component id for a name, purl or CPE; unknown names are returned lower-cased."""
    stripped = name.strip()
    low = stripped.lower()
    if low.startswith("pkg:"):
        return identify(name="", purl=stripped).name
    if low.startswith("cpe:"):
        return identify(name="", cpe=stripped).name
    return known_component(stripped) or _normalise(stripped)


def canonical_from_cpe(cpe: Cpe) -> str:
    """Canonical id for a CPE's vendor:product (the product name when the pair is not in the table)."""
    _, _, cpes = _alias_table()
    return cpes.get(f"{cpe.vendor}:{cpe.product}") or known_component(cpe.product) or _normalise(cpe.product)


def _upstream_name(purl: Purl) -> str | None:
    # syft and others record the source package: ?upstream=openssl or ?upstream=openssl%401.1.1n
    upstream = purl.qualifiers.get("upstream")
    return upstream.split("@", 1)[0].strip() or None if upstream else None


def identify(name: str, version: str | None = None, purl: str | None = None, cpe: str | None = None) -> ComponentId:
    """Resolve a component's canonical id and its upstream version from whatever identifiers it has.

    Malformed purl or CPE strings are ignored (the plain name still identifies the component).
    """
    parsed_purl: Purl | None = None
    parsed_cpe: Cpe | None = None
    if purl:
        try:
            parsed_purl = parse_purl(purl)
        except ValueError:
            parsed_purl = None
    if cpe:
        try:
            parsed_cpe = parse_cpe(cpe)
        except ValueError:
            parsed_cpe = None

    _, _, cpes = _alias_table()
    candidates: list[str | None] = []
    if parsed_cpe is not None:
        candidates.append(cpes.get(f"{parsed_cpe.vendor}:{parsed_cpe.product}"))
    if parsed_purl is not None:
        upstream = _upstream_name(parsed_purl)
        candidates += [known_component(upstream) if upstream else None, known_component(parsed_purl.name)]
    candidates.append(known_component(name) if name.strip() else None)
    canonical = next((c for c in candidates if c), None)
    if canonical is None:
        if name.strip():
            canonical = _normalise(name)
        elif parsed_purl is not None:
            canonical = _normalise(_upstream_name(parsed_purl) or parsed_purl.name)
        elif parsed_cpe is not None:
            canonical = canonical_from_cpe(parsed_cpe)
        else:
            canonical = ""

    raw = (version or "").strip() or None
    if raw is None and parsed_purl is not None:
        raw = parsed_purl.version
    if raw is None and parsed_cpe is not None:
        raw = parsed_cpe.version
    purl_type = parsed_purl.type if parsed_purl is not None else None
    if raw is None:
        return ComponentId(name=canonical, version=None, purl_type=purl_type)
    upstream_version, distro = split_distro_version(raw, purl_type, kernel=canonical == "linux_kernel")
    return ComponentId(name=canonical, version=upstream_version, raw_version=raw, distro=distro, purl_type=purl_type)
