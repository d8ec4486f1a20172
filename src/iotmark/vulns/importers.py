"""Import OSV and NVD (CVE API 2.0) JSON into our own advisory store, offline and idempotently.

Inputs are untrusted: files over 512 MiB are refused, JSON nesting is limited, zip members are read
in memory (never extracted). Everything is parsed before anything is written, so a bad file leaves
the store as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, Field, ValidationError

from iotmark.inputs import JsonInputError, load_json_bytes
from iotmark.vulns.advisory import Advisory, AffectedRange
from iotmark.vulns.cvss import cvss3_base_score, severity_for_score
from iotmark.vulns.db import STORE_SCHEMA, VulnDataError, VulnImportError, parse_advisories, user_data_dir
from iotmark.vulns.names import canonical_from_cpe, identify, parse_cpe
from iotmark.vulns.versions import VersionError, parse_version

MAX_IMPORT_BYTES = 512 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_ZIP_MEMBERS = 1_000_000
STORE_FILE = "advisories.json"


class FileImport(BaseModel):
    """What happened to one input (a file, a directory or a zip export)."""

    path: str
    format: str  # "osv", "nvd" or "osv+nvd" for a folder holding both
    records: int = 0  # vulnerability records read
    imported: int = 0  # advisories produced (one per record and component)
    skipped: int = 0  # records or package entries left out; reasons below
    skipped_git_ranges: int = 0
    skipped_reasons: dict[str, int] = Field(default_factory=dict)


class ImportResult(BaseModel):
    files: list[FileImport]
    dest: str
    stored: int  # advisories in the store after the import

    @property
    def imported(self) -> int:
        return sum(f.imported for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    def __str__(self) -> str:
        lines = []
        for f in self.files:
            extra = [f"{n} {reason}" for reason, n in f.skipped_reasons.items()]
            if f.skipped_git_ranges:
                extra.append(f"{f.skipped_git_ranges} git ranges")
            skipped = f", skipped: {', '.join(extra)}" if extra else ""
            lines.append(f"{f.path}: {f.format}, {f.records} records, {f.imported} advisories{skipped}")
        lines.append(f"{self.dest}: {self.stored} advisories stored")
        return "\n".join(lines)


class _Stats:
    def __init__(self) -> None:
        self.formats: set[str] = set()
        self.records = 0
        self.git = 0
        self.reasons: Counter[str] = Counter()

    def skip(self, reason: str) -> None:
        self.reasons[reason] += 1


# ---------------------------------------------------------------- reading inputs with limits


def _parse_json(data: bytes, where: str) -> Any:
    try:
        return load_json_bytes(data, max_bytes=MAX_IMPORT_BYTES, max_depth=MAX_JSON_DEPTH, allow_bom=True)
    except JsonInputError as exc:
        if exc.kind == "too_large":
            raise VulnImportError(f"{where}: over the 512 MiB import limit") from None
        if exc.kind == "not_utf8":
            raise VulnImportError(f"{where}: not UTF-8 text") from None
        if exc.kind == "too_deep":
            raise VulnImportError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        if exc.kind == "syntax":
            at = f"line {exc.line} column {exc.column}"
            raise VulnImportError(f"{where}: not valid JSON ({exc.detail} at {at})") from None
        raise VulnImportError(f"{where}: not valid JSON ({exc.detail})") from None


def _read_limited(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise VulnImportError(f"{path}: {size} bytes is over the 512 MiB import limit; split the export")
    return path.read_bytes()


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, decoded JSON) for a file, every *.json under a directory, or every *.json in a zip."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*.json") if p.is_file()):
            yield str(file), _parse_json(_read_limited(file), str(file))
    elif zipfile.is_zipfile(path):
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise VulnImportError(f"{path}: over the 512 MiB import limit")
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir() and m.filename.endswith(".json")]
            if len(members) > MAX_ZIP_MEMBERS:
                raise VulnImportError(f"{path}: more than {MAX_ZIP_MEMBERS} files in the archive")
            if sum(m.file_size for m in members) > MAX_IMPORT_BYTES:
                raise VulnImportError(f"{path}: unpacks to more than 512 MiB; split the export")
            for member in sorted(members, key=lambda m: m.filename):
                where = f"{path}!{member.filename}"
                with archive.open(member) as handle:
                    data = handle.read(MAX_IMPORT_BYTES + 1)
                if len(data) > MAX_IMPORT_BYTES:
                    raise VulnImportError(f"{where}: over the 512 MiB import limit")
                yield where, _parse_json(data, where)
    elif path.is_file():
        yield str(path), _parse_json(_read_limited(path), str(path))
    else:
        raise VulnImportError(f"{path}: no such file or directory")


def detect_format(doc: Any) -> str | None:
    """"nvd" (CVE API 2.0 response), "nvd-cve" (a single CVE item), "osv" (record or list), or None."""
    if isinstance(doc, dict):
        if isinstance(doc.get("vulnerabilities"), list):
            return "nvd"
        if isinstance(doc.get("id"), str) and "configurations" in doc and "descriptions" in doc:
            return "nvd-cve"
        if "id" in doc and any(k in doc for k in ("affected", "modified", "schema_version", "aliases")):
            return "osv"
    if isinstance(doc, list) and all(isinstance(item, dict) for item in doc):
        return "osv"
    return None


# ---------------------------------------------------------------- shared field helpers


def _str(value: Any, where: str, field: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise VulnImportError(f"{where}: {field}: expected a non-empty string")
    return value


def _list(value: Any, where: str, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise VulnImportError(f"{where}: {field}: expected a list")
    return value


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _version_ok(value: str | None) -> bool:
    if value is None or value == "0":
        return True
    try:
        parse_version(value)
    except VersionError:
        return False
    return True


def _merge(groups: dict[tuple[str, str], dict[str, list[Any]]], key: tuple[str, str]) -> dict[str, list[Any]]:
    return groups.setdefault(key, {"affected": [], "versions": []})


# ---------------------------------------------------------------- OSV


def _osv_severity(rec: dict[str, Any]) -> tuple[str, float | None]:
    items = rec.get("severity")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and str(item.get("type", "")).upper() == "CVSS_V3":
            score = cvss3_base_score(str(item.get("score", "")))
            if score is not None:
                return severity_for_score(score), score
    specific = rec.get("database_specific")
    label = specific.get("severity") if isinstance(specific, dict) else None
    mapped = {"critical": "critical", "high": "high", "moderate": "medium", "medium": "medium", "low": "low"}
    if isinstance(label, str) and label.lower() in mapped:
        return mapped[label.lower()], None
    return "medium", None  # unrated: neither ignored nor overstated


def _osv_events(events: list[Any], where: str, stats: _Stats) -> list[AffectedRange]:
    ranges: list[AffectedRange] = []
    start: str | None = None
    for j, event in enumerate(events):
        if not isinstance(event, dict):
            raise VulnImportError(f"{where}: events[{j}]: expected an object")
        if "introduced" in event:
            start = _str(event["introduced"], where, f"events[{j}].introduced")
            continue
        end_kind = "fixed" if "fixed" in event else "last_affected" if "last_affected" in event else None
        if end_kind is None:
            continue  # "limit" only bounds git walks
        end = _str(event[end_kind], where, f"events[{j}].{end_kind}")
        if start is None:
            start = "0"
        if _version_ok(start) and _version_ok(end):
            ranges.append(AffectedRange(introduced=start, **{end_kind: end}))
        else:
            stats.skip("unparseable version")
        start = None
    if start is not None:
        if _version_ok(start):
            ranges.append(AffectedRange(introduced=start))
        else:
            stats.skip("unparseable version")
    return ranges


def _osv_record(rec: Any, where: str, stats: _Stats, source: str) -> list[Advisory]:
    if not isinstance(rec, dict):
        raise VulnImportError(f"{where}: expected an OSV record object")
    rid = _str(rec.get("id"), where, "id")
    where = f"{where} ({rid})"
    stats.records += 1
    if rec.get("withdrawn"):
        stats.skip("withdrawn")
        return []
    aliases = [a for a in _list(rec.get("aliases"), where, "aliases") if isinstance(a, str)]
    severity, score = _osv_severity(rec)
    summary, details = rec.get("summary"), rec.get("details")
    if not isinstance(summary, str) or not summary.strip():
        summary = details.strip().split("\n", 1)[0] if isinstance(details, str) else ""
    references = [r["url"] for r in _list(rec.get("references"), where, "references")
                  if isinstance(r, dict) and isinstance(r.get("url"), str)]
    groups: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for i, entry in enumerate(_list(rec.get("affected"), where, "affected")):
        field = f"affected[{i}]"
        if not isinstance(entry, dict):
            raise VulnImportError(f"{where}: {field}: expected an object")
        package = entry.get("package")
        if not isinstance(package, dict):
            stats.skip("no package")
            continue
        name = _str(package.get("name"), where, f"{field}.package.name", required=False) or ""
        purl = _str(package.get("purl"), where, f"{field}.package.purl", required=False)
        ecosystem = _str(package.get("ecosystem"), where, f"{field}.package.ecosystem", required=False) or ""
        component = identify(name, purl=purl).name
        if not component:
            stats.skip("no package name")
            continue
        group = _merge(groups, (component, ecosystem))
        for k, rng in enumerate(_list(entry.get("ranges"), where, f"{field}.ranges")):
            if not isinstance(rng, dict):
                raise VulnImportError(f"{where}: {field}.ranges[{k}]: expected an object")
            rtype = str(rng.get("type", "")).upper()
            if rtype == "GIT":
                stats.git += 1
                continue
            if rtype not in ("SEMVER", "ECOSYSTEM"):
                stats.skip(f"range type {rtype or 'missing'}")
                continue
            events = _list(rng.get("events"), where, f"{field}.ranges[{k}].events")
            group["affected"] += _osv_events(events, f"{where}: {field}.ranges[{k}]", stats)
        for v in _list(entry.get("versions"), where, f"{field}.versions"):
            if isinstance(v, str) and _version_ok(v):
                group["versions"].append(v)
            else:
                stats.skip("unparseable version")
    return _build(rid, aliases, groups, severity, score, summary, references, False, source, stats, where)


# ---------------------------------------------------------------- NVD CVE API 2.0


def _nvd_severity(metrics: Any) -> tuple[str, float | None]:
    if not isinstance(metrics, dict):
        return "medium", None
    for key in ("cvssMetricV31", "cvssMetricV30", "cvssMetricV2"):
        found = metrics.get(key)
        items = [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []
        items.sort(key=lambda m: m.get("type") != "Primary")
        for item in items:
            data = item.get("cvssData") if isinstance(item.get("cvssData"), dict) else {}
            score = data.get("baseScore")
            if isinstance(score, (int, float)) and 0 <= score <= 10:
                label = str(data.get("baseSeverity") or item.get("baseSeverity") or "").lower()
                if label not in ("critical", "high", "medium", "low"):
                    label = severity_for_score(float(score))
                return label, float(score)
    return "medium", None


def _nvd_match(match: dict[str, Any], where: str, groups: dict[tuple[str, str], dict[str, list[Any]]],
               stats: _Stats) -> None:
    criteria = _str(match.get("criteria"), where, "criteria")
    try:
        cpe = parse_cpe(criteria or "")
    except ValueError:
        stats.skip("unparseable CPE")
        return
    if cpe.part == "h":
        stats.skip("hardware CPE")
        return
    bounds = {k: match.get(k) for k in ("versionStartIncluding", "versionStartExcluding",
                                        "versionEndIncluding", "versionEndExcluding")}
    for key, value in bounds.items():
        if value is not None and not isinstance(value, str):
            raise VulnImportError(f"{where}: {key}: expected a string")
    if bounds["versionStartExcluding"]:
        stats.skip("versionStartExcluding")
        return
    group = _merge(groups, (canonical_from_cpe(cpe), ""))
    if any(bounds.values()):
        start = bounds["versionStartIncluding"] or "0"
        fixed, last = bounds["versionEndExcluding"], bounds["versionEndIncluding"]
        if not all(_version_ok(v) for v in (start, fixed, last)):
            stats.skip("unparseable version")
            return
        group["affected"].append(AffectedRange(introduced=start, fixed=fixed, last_affected=None if fixed else last))
    elif cpe.version:
        if _version_ok(cpe.version):
            group["versions"].append(cpe.version)
        else:
            stats.skip("unparseable version")
    else:
        group["affected"].append(AffectedRange(introduced="0"))


def _nvd_item(item: Any, where: str, stats: _Stats, source: str) -> list[Advisory]:
    if not isinstance(item, dict) or not isinstance(item.get("cve"), dict):
        raise VulnImportError(f"{where}.cve: expected an object")
    cve = item["cve"]
    cid = _str(cve.get("id"), where, "cve.id")
    where = f"{where} ({cid})"
    stats.records += 1
    if cve.get("vulnStatus") == "Rejected":
        stats.skip("rejected")
        return []
    summary = next((d["value"] for d in _list(cve.get("descriptions"), where, "descriptions")
                    if isinstance(d, dict) and d.get("lang") == "en" and isinstance(d.get("value"), str)), "")
    severity, score = _nvd_severity(cve.get("metrics"))
    references = list(dict.fromkeys(r["url"] for r in _list(cve.get("references"), where, "references")
                                    if isinstance(r, dict) and isinstance(r.get("url"), str)))
    groups: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for i, config in enumerate(_list(cve.get("configurations"), where, "configurations")):
        if not isinstance(config, dict):
            raise VulnImportError(f"{where}: configurations[{i}]: expected an object")
        for j, node in enumerate(_list(config.get("nodes"), where, f"configurations[{i}].nodes")):
            if not isinstance(node, dict):
                raise VulnImportError(f"{where}: configurations[{i}].nodes[{j}]: expected an object")
            if node.get("negate"):
                continue
            field = f"configurations[{i}].nodes[{j}].cpeMatch"
            for k, match in enumerate(_list(node.get("cpeMatch"), where, field)):
                if not isinstance(match, dict):
                    raise VulnImportError(f"{where}: {field}[{k}]: expected an object")
                if match.get("vulnerable") is True:
                    _nvd_match(match, f"{where}: {field}[{k}]", groups, stats)
    known_exploited = bool(cve.get("cisaExploitAdd"))
    return _build(cid, [], groups, severity, score, summary, references, known_exploited, source, stats,
                  where)


# ---------------------------------------------------------------- building and storing


def _build(rid: str, aliases: list[str], groups: dict[tuple[str, str], dict[str, list[Any]]], severity: str,
           score: float | None, summary: str, references: list[str], known_exploited: bool, source: str,
           stats: _Stats, where: str) -> list[Advisory]:
    out = []
    for (component, ecosystem), group in sorted(groups.items()):
        ranges = list(dict.fromkeys(group["affected"]))
        versions = list(dict.fromkeys(group["versions"]))
        if not ranges and not versions:
            stats.skip("no usable ranges")
            continue
        try:
            out.append(Advisory(
                id=rid, aliases=aliases, component=component, ecosystem=ecosystem, affected=ranges,
                versions=versions, severity=severity, cvss=score, summary=_one_line(summary),
                references=references[:20], known_exploited=known_exploited, source=source,
            ))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "record"
            raise VulnImportError(f"{where}: {field}: {err['msg']}") from None
    return out


def _import_document(doc: Any, where: str, stats: _Stats, source: str) -> list[Advisory]:
    fmt = detect_format(doc)
    if fmt is None:
        raise VulnImportError(f"{where}: not an OSV record or an NVD CVE API 2.0 response "
                              "(expected 'id' and 'affected', or 'vulnerabilities')")
    if fmt == "nvd-cve":
        doc, fmt = {"vulnerabilities": [{"cve": doc}]}, "nvd"
    stats.formats.add(fmt)
    out: list[Advisory] = []
    if fmt == "nvd":
        for i, item in enumerate(doc["vulnerabilities"]):
            out += _nvd_item(item, f"{where}: vulnerabilities[{i}]", stats, source)
    elif isinstance(doc, list):
        for i, rec in enumerate(doc):
            out += _osv_record(rec, f"{where}: [{i}]", stats, source)
    else:
        out += _osv_record(doc, where, stats, source)
    return out


def _load_store(path: Path) -> list[Advisory]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return parse_advisories(data, str(path), path.name)
    except (json.JSONDecodeError, VulnDataError) as exc:
        raise VulnImportError(f"{path}: existing store is unreadable ({exc}); move it away and re-import") from None


def _write_store(path: Path, advisories: list[Advisory]) -> None:
    data = {"schema": STORE_SCHEMA,
            "advisories": [a.model_dump(mode="json", exclude_defaults=True) for a in advisories]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".advisories-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, path)


def import_files(paths: list[Path], dest: Path | None = None) -> ImportResult:
    """Import OSV / NVD JSON files, folders or zip exports into `dest` (default user_data_dir()).

    Re-importing the same data leaves the store unchanged; newer records replace older ones with the
    same id and component. Raises VulnImportError on malformed input, before writing anything.
    """
    dest = dest or user_data_dir()
    store = dest / STORE_FILE
    results: list[FileImport] = []
    new: list[Advisory] = []
    for path in paths:
        path = Path(path)
        stats = _Stats()
        produced: list[Advisory] = []
        for where, doc in _documents(path):
            produced += _import_document(doc, where, stats, path.name)
        results.append(FileImport(
            path=str(path), format="+".join(sorted(stats.formats)) or "none", records=stats.records,
            imported=len(produced), skipped=sum(stats.reasons.values()), skipped_git_ranges=stats.git,
            skipped_reasons=dict(sorted(stats.reasons.items())),
        ))
        new += produced
    merged = {(a.id, a.component, a.ecosystem): a for a in _load_store(store)}
    merged.update({(a.id, a.component, a.ecosystem): a for a in new})
    ordered = [merged[k] for k in sorted(merged)]
    _write_store(store, ordered)
    return ImportResult(files=results, dest=str(dest), stored=len(ordered))
