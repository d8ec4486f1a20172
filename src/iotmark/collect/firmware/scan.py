"""The firmware collector's one pipeline: image → sandboxed extraction → analysers per root → evidence bundle.

Whatever could not be extracted or examined becomes an `error`/`not_tested` finding that names the part,
so a partially read image never looks clean. Fleets of images run the same function under Dask, and
private keys seen in more than one image of a fleet are reported as shared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotmark import __version__
from iotmark.collect.base import make_finding
from iotmark.model import Bundle, Component, EvidenceSource, Finding, Target

log = logging.getLogger(__name__)

DEFAULT_CLASS = "consumer-general"
# Checks each analyser reports when it examined something; without a root they are all not_tested.
ANALYSER_CHECKS = (
    "firmware.accounts.reviewed",
    "firmware.services.reviewed",
    "firmware.secrets.reviewed",
    "firmware.update.reviewed",
    "firmware.hardening.summary",
    "firmware.components.inventory",
)
PART_OUTCOME = {"error": "error", "not_extracted": "not_tested", "skipped_limit": "not_tested"}


class FirmwareInputError(ValueError):
    """The image cannot be used at all (missing, not a file, empty, too large); one line for the user."""


@dataclass
class FirmwareScan:
    """One image's result: the evidence bundle plus what the fleet step needs."""

    image: Path
    bundle: Bundle
    key_fingerprints: list[dict[str, str]] = field(default_factory=list)
    roots: int = 0
    partial: bool = False


def work_base() -> Path:
    """Where throw-away extraction folders go: $IOTMARK_WORK, else the system temporary folder."""
    return Path(os.environ.get("IOTMARK_WORK") or tempfile.gettempdir())


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _default_target(image: Path, metadata: dict[str, str]) -> Target:
    """A target from what the image says about itself, when the user gave no target file."""
    vendor = metadata.get("vendor") or "unknown vendor"
    model = metadata.get("model") or metadata.get("uimage_name") or image.name
    version = metadata.get("firmware_version") or metadata.get("os_version") or image.stem
    return Target(vendor=vendor[:200], model=model[:200], firmware_version=version[:100], device_class=DEFAULT_CLASS)


def _part_findings(parts: Iterable[Any], image_name: str) -> list[Finding]:
    findings = []
    for part in parts:
        outcome = PART_OUTCOME.get(part.status)
        if outcome is None:
            continue
        check = "firmware.unpack.limit_reached" if part.status == "skipped_limit" else "firmware.unpack.part_unreadable"
        findings.append(make_finding(
            check, outcome,
            f"{part.format} part at {part.path} was not extracted: {part.reason or part.status}; "
            "nothing inside it was analysed",
            evidence={"path": part.path, "offset": part.offset, "source": image_name,
                      "excerpt": f"format={part.format} size={part.size}"},
        ))
    return findings


def _no_root_findings(image_name: str, why: str) -> list[Finding]:
    return [make_finding(check, "not_tested", f"not examined: {why}", evidence={"source": image_name})
            for check in ANALYSER_CHECKS]


def _merge_components(components: list[Component]) -> list[Component]:
    """One entry per name and version, with every place it was seen."""
    seen: dict[tuple[str, str | None], Component] = {}
    for comp in components:
        key = (comp.name, comp.version)
        if key in seen:
            merged = seen[key]
            merged.found_in = sorted(set(merged.found_in) | set(comp.found_in))
            continue
        seen[key] = comp
    return list(seen.values())


def scan_image(
    image: Path,
    target: Target | None = None,
    *,
    limits: Any = None,
    work_root: Path | None = None,
    keep_work: bool = False,
    db: Any = None,
) -> FirmwareScan:
    """Extract `image` in a sandbox, analyse every root filesystem found and return the evidence bundle.

    `db` is the offline vulnerability data (loaded here when not given; a fleet loads it once for all images).
    """
    from iotmark.collect.firmware.analysis import analyse_root
    from iotmark.collect.firmware.fsview import RootView
    from iotmark.collect.firmware.unpack import Limits, UnpackError, check_image, extract
    from iotmark.vulns import VulnDB

    image = Path(image)
    limits = limits or Limits()
    try:
        check_image(image, limits)  # before any work folder exists
    except UnpackError as exc:
        raise FirmwareInputError(str(exc)) from None
    base = Path(work_root or work_base())
    base.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="iotmark-fw-", dir=base))
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        try:
            extraction = extract(image, work_dir, limits)
        except UnpackError as exc:
            raise FirmwareInputError(str(exc)) from None
        findings = _part_findings(extraction.parts, image.name)
        for hit in extraction.limits_hit:
            findings.append(make_finding("firmware.unpack.limit_reached", "not_tested",
                                         f"extraction stopped early: {hit}; what lies beyond was not analysed",
                                         evidence={"source": image.name}))
        metadata = dict(extraction.metadata)
        components: list[Component] = []
        fingerprints: list[dict[str, str]] = []
        if not extraction.roots:
            findings += _no_root_findings(image.name, "no root filesystem could be extracted from the image")
        elif db is None:
            db = VulnDB.load()
        for index, root in enumerate(extraction.roots):
            analysis = analyse_root(RootView(root), image_name=image.name, db=db)
            if index > 0:  # a second root (e.g. a recovery system): say which one each finding is from
                label = str(root.relative_to(work_dir))
                for f in analysis.findings:
                    f.evidence = f.evidence.model_copy(update={"root": label})
            findings += analysis.findings
            components += analysis.components
            fingerprints += analysis.key_fingerprints
            for key, value in analysis.metadata.items():
                metadata.setdefault(key, value)
        the_target = target or _default_target(image, metadata)
        source = EvidenceSource(kind="firmware", name=image.name, sha256=_sha256_file(image), collected_at=started,
                                tool=f"iotmark {__version__} firmware collector")
        bundle = Bundle(target=the_target, findings=findings, components=_merge_components(components),
                        sources=[source])
        partial = any(f.check.startswith("firmware.unpack.") for f in findings)
        return FirmwareScan(image=image, bundle=bundle, key_fingerprints=fingerprints,
                            roots=len(extraction.roots), partial=partial)
    finally:
        if keep_work:
            log.info("extraction kept in %s", work_dir)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def mark_shared_keys(scans: list[FirmwareScan]) -> int:
    """Add a critical finding to every image holding a private key that another image of the fleet also holds."""
    holders: dict[str, list[tuple[FirmwareScan, dict[str, str]]]] = defaultdict(list)
    for scan in scans:
        for fp in scan.key_fingerprints:
            holders[fp["sha256"]].append((scan, fp))
    shared = 0
    for digest, where in holders.items():
        images = sorted({s.image.name for s, _ in where})
        if len(images) < 2:
            continue
        shared += 1
        for scan, fp in where:
            others = [name for name in images if name != scan.image.name]
            scan.bundle.findings.append(make_finding(
                "firmware.secrets.shared_private_key", "fail",
                f"the {fp.get('type', 'private')} key at {fp['path']} is also in {', '.join(others)}: "
                "every device with it can be impersonated or decrypted with one extracted key",
                evidence={"path": fp["path"], "source": scan.image.name, "excerpt": f"sha256:{digest[:16]}…"},
            ))
    return shared


def _scan_for_fleet(image: Path, target: Target | None, limits: Any, work_root: Path | None,
                    db: Any) -> FirmwareScan | str:
    try:
        return scan_image(image, target, limits=limits, work_root=work_root, db=db)
    except FirmwareInputError as exc:
        return str(exc)


def firmware_images(folder: Path) -> list[Path]:
    """Regular files directly in `folder` (not hidden), in name order: one image each."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and not p.name.startswith("."))


def scan_fleet(
    images: list[Path],
    target: Target | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    limits: Any = None,
    work_root: Path | None = None,
) -> tuple[list[FirmwareScan], list[str]]:
    """Scan many images with Dask (local worker threads, or a distributed scheduler address); flag shared keys.

    Returns the scans and one error line per image that could not be used.
    """
    import dask

    from iotmark.vulns import VulnDB

    db = dask.delayed(VulnDB.load)()  # one node of the graph: loaded once for the whole fleet, not per image
    tasks = [dask.delayed(_scan_for_fleet)(img, target, limits, work_root, db) for img in images]
    if scheduler:
        from dask.distributed import Client

        with Client(scheduler) as client:
            results = list(client.compute(tasks, sync=True))
    elif workers <= 1:
        results = list(dask.compute(*tasks, scheduler="synchronous"))
    else:
        # Threads, not processes: most of a scan is the sandboxed extraction, a child process of its own,
        # so threads run images in parallel without the start-up cost of spawning Python workers.
        results = list(dask.compute(*tasks, scheduler="threads", num_workers=workers))
    scans = [r for r in results if isinstance(r, FirmwareScan)]
    errors = [r for r in results if isinstance(r, str)]
    mark_shared_keys(scans)
    return scans, errors


def write_scan(scan: FirmwareScan, out: Path) -> list[Path]:
    """bundle.json and sbom.cdx.json for one image into `out`."""
    from iotmark.report import sbom as sbom_report

    out.mkdir(parents=True, exist_ok=True)
    scan.bundle.save(out / "bundle.json")
    sbom_report.write(out / "sbom.cdx.json", scan.bundle, None, None)
    return [out / "bundle.json", out / "sbom.cdx.json"]


def summary(scan: FirmwareScan) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    for f in scan.bundle.findings:
        counts[f.outcome] += 1
    return {"image": scan.image.name, "sha256": scan.bundle.sources[0].sha256, "roots": scan.roots,
            "partial": scan.partial, "components": len(scan.bundle.components), "findings": dict(counts),
            "bundle_digest": scan.bundle.digest()}


__all__ = ["FirmwareInputError", "FirmwareScan", "scan_image", "scan_fleet", "mark_shared_keys", "write_scan",
           "firmware_images", "summary"]
