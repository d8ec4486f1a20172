"""Read the catalog data files (data/*.yaml), check them, and answer questions about standards and mappings.

One YAML file per standard; mappings.yaml, device-classes.yaml and levels.yaml hold the cross-links, the device
risk tiers and iotmark's certification ladder. Everything is validated when first loaded and cached after.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from iotmark.catalog.types import CatalogError, Level, Mapping, Provision, Standard
from iotmark.model import DEFAULT_STANDARD, DeviceClass

# The catalog is loaded once per process and then shared; servers call it from many threads at once. One lock
# makes the first load happen once, so every thread sees the same Standard objects.
_LOAD_LOCK = threading.RLock()


def _loaded_once(maxsize: int):
    """functools.lru_cache whose calls hold the catalog lock (a cold cache is filled by one thread only)."""
    def wrap(function):
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def call(*args):
            with _LOAD_LOCK:
                return cached(*args)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return call
    return wrap

MAPPINGS_FILE = "mappings.yaml"
DEVICE_CLASSES_FILE = "device-classes.yaml"
LEVELS_FILE = "levels.yaml"
_NOT_STANDARDS = {MAPPINGS_FILE, DEVICE_CLASSES_FILE, LEVELS_FILE}
_MAX_FILE_BYTES = 2_000_000


# ---------------------------------------------------------------- reading files


def _data_dir() -> Any:
    return resources.files("iotmark.catalog").joinpath("data")


def _read_yaml(name: str) -> Any:
    entry = _data_dir().joinpath(name)
    if not entry.is_file():
        raise CatalogError(f"catalog file {name} is missing from the installed package")
    text = entry.read_text(encoding="utf-8")
    if len(text) > _MAX_FILE_BYTES:
        raise CatalogError(f"catalog file {name} is larger than {_MAX_FILE_BYTES} bytes")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog file {name} is not valid YAML: {exc}") from None


def _where(raw: Any, loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into a readable path, naming list entries by their id where they have one."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            node = node[key]
            label = next((node[k] for k in ("id", "key", "level", "from") if isinstance(node, dict) and k in node), None)
            parts.append(f"[{label!r}]" if label is not None else f"[{key}]")
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(f".{key}")
    return "".join(parts).lstrip(".") or "(top level)"


def _invalid(name: str, raw: Any, exc: ValidationError, prefix: tuple[Any, ...] = ()) -> CatalogError:
    first = exc.errors()[0]
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return CatalogError(f"catalog file {name}: {_where(raw, prefix + tuple(first['loc']))}: {first['msg']}{more}")


def _duplicates(values: Iterable[Any]) -> list[Any]:
    seen: set[Any] = set()
    dups: list[Any] = []
    for value in values:
        if value in seen and value not in dups:
            dups.append(value)
        seen.add(value)
    return dups


# ---------------------------------------------------------------- standards


def _check_standard(name: str, std: Standard) -> None:
    """Cross-field checks pydantic cannot express: unique ids and references that must resolve inside the file."""
    if name not in (f"{std.id}.yaml", f"{std.ref}.yaml"):
        raise CatalogError(f"catalog file {name}: standard id '{std.id}' does not match the file name")
    for what, values in (
        ("provision", [p.id for p in std.provisions]),
        ("category", [c.id for c in std.categories]),
        ("condition", [c.key for c in std.conditions]),
        ("feature", [f.letter for f in std.features]),
        ("IXIT", [x.id for x in std.ixit]),
        ("test case", [t.id for p in std.provisions for t in p.test_cases]),
    ):
        if dups := _duplicates(values):
            raise CatalogError(f"catalog file {name}: duplicate {what} id(s): {', '.join(map(str, dups))}")
    categories = {c.id for c in std.categories}
    conditions = {c.key for c in std.conditions}
    features = {f.letter for f in std.features}
    ixit = {x.id for x in std.ixit}
    for p in std.provisions:
        where = f"catalog file {name}: provision '{p.id}'"
        if p.category is not None and categories and p.category not in categories:
            raise CatalogError(f"{where}: unknown category '{p.category}'")
        if p.conditional != (p.condition is not None):
            raise CatalogError(f"{where}: 'conditional' and 'condition' disagree")
        if p.condition is not None and p.condition not in conditions:
            raise CatalogError(f"{where}: unknown condition '{p.condition}'")
        if unknown := [f for f in p.features if f not in features]:
            raise CatalogError(f"{where}: unknown feature(s) {', '.join(unknown)}")
        for tc in p.test_cases:
            if unknown := [x for x in tc.ixit if x not in ixit]:
                raise CatalogError(f"{where}: test case '{tc.id}' refers to unknown IXIT {', '.join(unknown)}")
    for cond in std.conditions:
        if unknown := [pid for pid in cond.provisions if not std.has(pid)]:
            raise CatalogError(f"catalog file {name}: condition '{cond.key}' lists unknown provision(s) {unknown}")
    for feature in std.features:
        if unknown := [pid for pid in feature.provisions if not std.has(pid)]:
            raise CatalogError(f"catalog file {name}: feature '{feature.letter}' lists unknown provision(s) {unknown}")


def _version_key(version: str) -> tuple[Any, ...]:
    # Numeric parts compare as numbers so 10.0 sorts after 9.1; anything else compares as text.
    parts = version.replace("-", ".").replace("/", ".").split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


@_loaded_once(maxsize=1)
def _standards() -> dict[str, list[Standard]]:
    """Every standard file, parsed and checked, grouped by id: the default version first, then newest to oldest.

    A bare id resolves to the version whose file says `default: true` (at most one per id), else to the newest.
    levels.yaml's ladder is attached to that default version only."""
    raw_levels = _read_levels_file()
    found: dict[str, list[Standard]] = {}
    names = sorted(e.name for e in _data_dir().iterdir() if e.name.endswith(".yaml") and e.name not in _NOT_STANDARDS)
    for name in names:
        raw = _read_yaml(name)
        if not isinstance(raw, dict):
            raise CatalogError(f"catalog file {name}: expected a mapping at the top level")
        try:
            std = Standard.model_validate(raw)
        except ValidationError as exc:
            raise _invalid(name, raw, exc) from None
        _check_standard(name, std)
        versions = found.setdefault(std.id, [])
        if any(s.version == std.version for s in versions):
            raise CatalogError(f"catalog file {name}: {std.ref} is defined twice")
        versions.append(std)
    for sid, versions in found.items():
        if len(marked := [s.version for s in versions if s.default]) > 1:
            raise CatalogError(f"catalog: standard '{sid}' has more than one default version: {', '.join(marked)}")
        versions.sort(key=lambda s: _version_key(s.version), reverse=True)
        versions.sort(key=lambda s: not s.default)  # stable: the default first, the rest newest first
        if raw_levels is not None and raw_levels[0] == sid:
            versions[0] = _with_levels(versions[0], raw_levels[1])
    if not found:
        raise CatalogError("the catalog holds no standards")
    return found


def _known() -> str:
    return ", ".join(f"{sid} ({', '.join(s.version for s in stds)})" for sid, stds in sorted(_standards().items()))


def list_standards() -> list[Standard]:
    """Every standard in the catalog (all versions), sorted by id; per id the default version first, then newest first."""
    return [s for _, stds in sorted(_standards().items()) for s in stds]


@_loaded_once(maxsize=64)
def load_standard(ref: str) -> Standard:
    """A standard by `id` (its default version, else the newest) or `id@version`, e.g. `etsi-en-303-645@3.1.1`."""
    sid, _, version = ref.strip().partition("@")
    versions = _standards().get(sid)
    if not versions:
        raise CatalogError(f"unknown standard '{sid}'; known: {_known()}")
    if not version:
        return versions[0]
    for std in versions:
        if std.version == version:
            return std
    raise CatalogError(
        f"unknown version '{version}' of standard '{sid}'; known: {', '.join(s.version for s in versions)}"
    )


def catalog_as_json(standard: Standard | str) -> dict[str, Any]:
    """The whole standard as plain JSON data (the shape of `iotmark catalog show ID --json`)."""
    std = load_standard(standard) if isinstance(standard, str) else standard
    data = std.model_dump(mode="json", by_alias=True)
    data["counts"] = {
        "provisions": len(std.provisions),
        "mandatory": sum(p.mandatory for p in std.provisions),
        "recommended": sum(not p.mandatory for p in std.provisions),
        "conditional": sum(p.conditional for p in std.provisions),
        "test_cases": std.test_case_count(),
        "ixit": len(std.ixit),
    }
    return data


# ---------------------------------------------------------------- levels


def _read_levels_file() -> tuple[str, list[Level]] | None:
    entry = _data_dir().joinpath(LEVELS_FILE)
    if not entry.is_file():
        return None
    raw = _read_yaml(LEVELS_FILE)
    if not isinstance(raw, dict) or not isinstance(raw.get("standard"), str) or not isinstance(raw.get("levels"), list):
        raise CatalogError(f"catalog file {LEVELS_FILE}: expected 'standard: <id>' and a 'levels:' list")
    levels: list[Level] = []
    for index, item in enumerate(raw["levels"]):
        try:
            levels.append(Level.model_validate(item))
        except ValidationError as exc:
            raise _invalid(LEVELS_FILE, raw, exc, ("levels", index)) from None
    numbers = [lv.level for lv in levels]
    if numbers != list(range(1, len(levels) + 1)):
        raise CatalogError(f"catalog file {LEVELS_FILE}: levels must be numbered 1, 2, 3... in order; got {numbers}")
    for lower, higher in zip(levels, levels[1:]):
        if missing := [e for e in lower.evidence if e not in higher.evidence]:
            raise CatalogError(
                f"catalog file {LEVELS_FILE}: level {higher.level} drops evidence {missing} required at level {lower.level}"
            )
    return raw["standard"], levels


def _resolve(levels: list[Level], provisions: list[Provision], known: set[str] | None = None) -> dict[int, list[str]]:
    """Provisions each level requires, including everything the lower levels require, in catalog order."""
    by_set = {
        "all_mandatory": {p.id for p in provisions if p.mandatory},
        "all_recommended": {p.id for p in provisions if not p.mandatory},
    }
    order = [p.id for p in provisions]
    required: set[str] = set()
    out: dict[int, list[str]] = {}
    for lv in levels:
        if known is not None and (unknown := [pid for pid in lv.provisions if pid not in known]):
            raise CatalogError(f"catalog file {LEVELS_FILE}: level {lv.level} lists unknown provision(s) {unknown}")
        required |= set(lv.provisions)
        for name in lv.sets:
            required |= by_set[name]
        out[lv.level] = [pid for pid in order if pid in required]
    return out


def _with_levels(std: Standard, levels: list[Level]) -> Standard:
    resolved = _resolve(levels, std.provisions, {p.id for p in std.provisions})
    data = std.model_dump(by_alias=True)
    for p in data["provisions"]:
        if not p["levels"]:
            p["levels"] = [n for n, ids in resolved.items() if p["id"] in ids]
    # Re-validate rather than model_copy so the id index is rebuilt for the new provision objects.
    return Standard.model_validate(data)


@_loaded_once(maxsize=8)
def _levels(standard: str) -> tuple[Level, ...]:
    std = load_standard(standard)
    raw = _read_levels_file()
    if raw is None or raw[0] != std.id:
        raise CatalogError(f"no certification levels are defined for '{std.id}'")
    if std.ref != load_standard(std.id).ref:
        raise CatalogError(f"certification levels are defined for {load_standard(std.id).ref} only, not {std.ref}")
    return tuple(raw[1])


def load_levels(standard: str = DEFAULT_STANDARD) -> list[Level]:
    """iotmark's certification levels (1 up) for a standard; level 0 means not certified."""
    return list(_levels(standard))


def level_provisions(standard: str = DEFAULT_STANDARD) -> dict[int, list[str]]:
    """For each level, every provision that must be PASS or NOT_APPLICABLE to reach it (cumulative)."""
    std = load_standard(standard)
    return _resolve(load_levels(standard), std.provisions)


# ---------------------------------------------------------------- mappings


def _split(qualified_id: str) -> tuple[str, str]:
    sid, sep, pid = qualified_id.partition(":")
    if not sep:
        return DEFAULT_STANDARD, qualified_id
    return sid, pid


@_loaded_once(maxsize=1)
def _mappings() -> tuple[Mapping, ...]:
    raw = _read_yaml(MAPPINGS_FILE)
    if not isinstance(raw, dict) or not isinstance(raw.get("mappings"), list):
        raise CatalogError(f"catalog file {MAPPINGS_FILE}: expected a 'mappings:' list")
    out: list[Mapping] = []
    for index, item in enumerate(raw["mappings"]):
        try:
            mapping = Mapping.model_validate(item)
        except ValidationError as exc:
            raise _invalid(MAPPINGS_FILE, raw, exc, ("mappings", index)) from None
        for end in (mapping.from_, mapping.to):
            sid, pid = _split(end)
            if ":" not in end:
                raise CatalogError(f"catalog file {MAPPINGS_FILE}: entry {index} ({end}): ids must be 'standard:provision'")
            try:
                load_standard(sid).provision(pid)
            except CatalogError as exc:
                raise CatalogError(f"catalog file {MAPPINGS_FILE}: entry {index} ({mapping.from_} -> {mapping.to}): {exc}") from None
        out.append(mapping)
    if dups := _duplicates((m.from_, m.to) for m in out):
        raise CatalogError(f"catalog file {MAPPINGS_FILE}: duplicate mapping(s): {', '.join(f'{a} -> {b}' for a, b in dups)}")
    return tuple(out)


def load_mappings() -> list[Mapping]:
    """All cross-mappings between standards."""
    return list(_mappings())


def related(qualified_id: str) -> list[Mapping]:
    """Mappings that touch this provision, in either direction. A bare id means an EN 303 645 provision."""
    sid, pid = _split(qualified_id)
    qid = load_standard(sid).qualified(pid)
    return [m for m in _mappings() if qid in (m.from_, m.to)]


def map_provisions(
    standard_from: str,
    ids: Iterable[str],
    standard_to: str,
    relations: Iterable[str] | None = None,
) -> dict[str, list[str]]:
    """For each provision id of `standard_from`, the ids of `standard_to` it is mapped to (either direction).

    Every requested id appears in the result, with an empty list when nothing maps. `relations` limits the
    relation kinds considered (default: all)."""
    src, dst = load_standard(standard_from), load_standard(standard_to)
    wanted = set(relations) if relations is not None else None
    order = {pid: i for i, pid in enumerate(dst.ids())}
    out: dict[str, list[str]] = {}
    for pid in ids:
        qid = src.qualified(pid)
        targets: set[str] = set()
        for m in _mappings():
            if wanted is not None and m.relation not in wanted:
                continue
            for here, there in ((m.from_, m.to), (m.to, m.from_)):
                if here == qid and there.startswith(f"{dst.id}:"):
                    targets.add(there.split(":", 1)[1])
        out[src.provision(pid).id] = sorted(targets, key=lambda t: order.get(t, len(order)))
    return out


def fully_covered(standard_from: str, satisfied: Iterable[str], standard_to: str) -> list[str]:
    """Provisions of `standard_to` whose every `equivalent` mapping from `standard_from` is satisfied.

    `satisfied` are provision ids of `standard_from` that passed or do not apply. A target with no equivalent
    mapping is never covered (partial or related links do not carry conformity over)."""
    src, dst = load_standard(standard_from), load_standard(standard_to)
    done = {src.qualified(pid) for pid in satisfied}
    needed: dict[str, set[str]] = {}
    for m in _mappings():
        if m.relation != "equivalent":
            continue
        for a, b in ((m.from_, m.to), (m.to, m.from_)):
            if a.startswith(f"{src.id}:") and b.startswith(f"{dst.id}:"):
                needed.setdefault(b.split(":", 1)[1], set()).add(a)
    return [pid for pid in dst.ids() if pid in needed and needed[pid] <= done]


# ---------------------------------------------------------------- device classes


@_loaded_once(maxsize=1)
def _device_classes() -> dict[str, DeviceClass]:
    raw = _read_yaml(DEVICE_CLASSES_FILE)
    if not isinstance(raw, dict) or not isinstance(raw.get("device_classes"), list):
        raise CatalogError(f"catalog file {DEVICE_CLASSES_FILE}: expected a 'device_classes:' list")
    out: dict[str, DeviceClass] = {}
    for index, item in enumerate(raw["device_classes"]):
        try:
            dc = DeviceClass.model_validate(item)
        except ValidationError as exc:
            raise _invalid(DEVICE_CLASSES_FILE, raw, exc, ("device_classes", index)) from None
        where = f"catalog file {DEVICE_CLASSES_FILE}: device class '{dc.id}'"
        if dc.id in out:
            raise CatalogError(f"{where} is defined twice")
        try:
            levels = [lv.level for lv in load_levels(dc.standard)]
        except CatalogError as exc:
            raise CatalogError(f"{where}: {exc}") from None
        if dc.minimum_level != 0 and dc.minimum_level not in levels:
            raise CatalogError(f"{where}: minimum_level {dc.minimum_level} is not one of the levels {levels}")
        out[dc.id] = dc
    return out


def load_device_classes() -> dict[str, DeviceClass]:
    """Device risk classes by id."""
    return dict(_device_classes())


def device_class(class_id: str) -> DeviceClass:
    """One device class; an unknown id names the known ones."""
    classes = _device_classes()
    try:
        return classes[class_id]
    except KeyError:
        raise CatalogError(f"unknown device class '{class_id}'; known: {', '.join(sorted(classes))}") from None


def _clear_caches() -> None:
    """Forget everything loaded (tests point the loader at other data)."""
    for cached in (_standards, load_standard, _levels, _mappings, _device_classes):
        cached.cache_clear()
