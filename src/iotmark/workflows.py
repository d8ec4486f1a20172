"""End-to-end flows shared by the CLI (and later the registry and release gate). Stages never call each other;
this module chains them."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from iotmark.inputs import InputError, load_bundle, load_model, read_bytes, read_structured
from iotmark.model import (
    SEVERITY_ORDER,
    Assessment,
    Bundle,
    Certificate,
    EvidenceSource,
    Finding,
    Target,
    sha256_hex,
)

DEFAULT_REGISTRY_URL = "http://127.0.0.1:8000"
DEFAULT_ISSUER = "iotmark demo lab"


def iotmark_home() -> Path:
    return Path(os.environ.get("IOTMARK_HOME", Path.home() / ".iotmark"))


def registry_url() -> str:
    return os.environ.get("IOTMARK_REGISTRY_URL", DEFAULT_REGISTRY_URL)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def load_findings_file(path: Path) -> tuple[list[Finding], EvidenceSource]:
    """Saved findings: a JSON list of findings, `{"findings": [...]}`, or a whole bundle."""
    from pydantic import TypeAdapter, ValidationError

    from iotmark.inputs import describe_validation_error

    data = read_structured(path, 64 * 1024 * 1024)
    items = data.get("findings") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError(f"{path}: field findings: expected a list of findings")
    try:
        findings = TypeAdapter(list[Finding]).validate_python(items)
    except ValidationError as exc:
        raise InputError(describe_validation_error(path, exc).replace("field ", "field findings.", 1)) from None
    kinds = {f.kind for f in findings} - {"declaration"}
    kind = kinds.pop() if len(kinds) == 1 else "manual"
    source = EvidenceSource(kind=kind, name=path.name, sha256=sha256_hex(read_bytes(path, 64 * 1024 * 1024)),
                            collected_at=_now(), tool="saved findings")
    return findings, source


def build_bundle(
    target: Path | None = None,
    declaration: Path | None = None,
    sboms: list[Path] | None = None,
    findings: list[Path] | None = None,
    bundles: list[Path] | None = None,
) -> Bundle:
    """Collect every given source into one evidence bundle. The target comes from --target or the declaration."""
    from iotmark.collect.declaration import collect_declaration

    parts: list[Bundle] = [load_bundle(p) for p in bundles or []]
    decl_result = collect_declaration(declaration) if declaration else None
    if target is not None:
        the_target = load_model(target, Target, max_bytes=1024 * 1024)
    elif decl_result is not None:
        the_target = decl_result.declaration.target
    elif parts:
        the_target = parts[0].target
    else:
        raise InputError("no target: give --target target.yaml or a declaration that names the device")
    if the_target.support_until is None and decl_result and decl_result.declaration.support_period_end:
        the_target = the_target.model_copy(update={"support_until": decl_result.declaration.support_period_end})
    bundle = Bundle(target=the_target)
    if decl_result:
        bundle.declaration = decl_result.declaration
        bundle.findings += decl_result.findings
        bundle.sources.append(decl_result.source)
    for sbom_path in sboms or []:
        from iotmark.collect.sbom import collect_sbom

        result = collect_sbom(sbom_path)
        bundle.components += result.components
        bundle.findings += result.findings
        bundle.sources.append(result.source)
    for findings_path in findings or []:
        found, source = load_findings_file(findings_path)
        bundle.findings += found
        bundle.sources.append(source)
    return merge_bundles(bundle, parts)


def merge_bundles(bundle: Bundle, parts: list[Bundle]) -> Bundle:
    """`bundle` with the evidence of other bundles of the same device, plus the facts only their union shows."""
    for part in parts:
        bundle = bundle.merge(part)
    if parts:
        # Cross-collector fact: an SSH host key served by the device that is also baked into its firmware.
        from iotmark.collect.hostkeys import shared_host_key_findings

        bundle.findings += shared_host_key_findings(bundle)
    return bundle


def load_assessment(path: Path) -> Assessment:
    return load_model(path, Assessment, max_bytes=64 * 1024 * 1024)


def top_issues(bundle: Bundle, assessment: Assessment, limit: int = 3) -> list[str]:
    """Plain-language lines for the label: the most severe failing findings on failed provisions."""
    failed = {v.provision for v in assessment.verdicts if v.verdict.value == "FAIL"}
    seen: set[str] = set()
    issues: list[tuple[int, str]] = []
    for finding in bundle.findings:
        if finding.outcome != "fail" or finding.check in seen:
            continue
        if not any(p.split(":", 1)[1] in failed for p in finding.provisions if ":" in p):
            continue
        seen.add(finding.check)
        issues.append((SEVERITY_ORDER[finding.severity], finding.title))
    issues.sort(key=lambda item: -item[0])
    return [title for _, title in issues[:limit]]


def support_end(bundle: Bundle) -> dt.date | None:
    if bundle.target.support_until:
        return bundle.target.support_until
    if bundle.declaration and bundle.declaration.support_period_end:
        return bundle.declaration.support_period_end
    return None


def certify(
    bundle: Bundle,
    assessment: Assessment,
    private_key: Path,
    issuer: str = DEFAULT_ISSUER,
    base_url: str | None = None,
    today: dt.date | None = None,
) -> Certificate:
    from iotmark.assess.certificate import issue_certificate

    if assessment.bundle_digest != bundle.digest():
        raise InputError("the assessment was made from a different bundle (digests differ); assess this bundle again")
    return issue_certificate(assessment, private_key, issuer=issuer, verify_base_url=base_url or registry_url(),
                             support_end=support_end(bundle), summary=top_issues(bundle, assessment), today=today)


DEMO_UNITS = 10_000
DEMO_PRICE = 30.0
RISK_ITERATIONS = 200_000


def price_risk(bundle_path: Path, units: int, price: float, seed: int = 1) -> dict[str, object]:
    """FAIR price of the bundle's weaknesses for a fleet: expected annual loss as found and after fixing them,
    and the fixes that pay most, for the assessment's risk summary."""
    from iotmark.risk.analysis import price_evidence

    priced = price_evidence(bundle_path, units=units, price=price, iterations=RISK_ITERATIONS, seed=seed)
    currency = priced.get("currency", "EUR")
    fixes = [f"{f['name']}: {currency} {f['risk_reduction']:,.0f} a year less for {currency} {f['cost']:,.0f}"
             for f in priced["fixes"][:3]]
    return {
        "currency": currency,
        "fleet": f"{units:,} units at {currency} {price:,.2f}",
        "expected_annual_loss_as_found": round(priced["portfolio"]["mean"], 2),
        "expected_annual_loss_after_fixing": round(priced["after_fixing"]["portfolio"]["mean"], 2),
        "risk_reduction": round(priced["risk_reduction"], 2),
        "p95_annual_loss_as_found": round(priced["portfolio"]["percentiles"]["p95"], 2),
        "top_fixes": "; ".join(fixes) or "none",
        "method": f"FAIR Monte Carlo, {RISK_ITERATIONS:,} iterations, seed {seed}; scenario library figures are estimates",
    }


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def sample_dir() -> Path:
    """The bundled sample device (examples/sample-device in the source tree)."""
    env = os.environ.get("IOTMARK_SAMPLE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "examples" / "sample-device"


@dataclass
class DemoResult:
    out: Path
    bundle: Bundle
    assessment: Assessment
    certificate: Certificate
    files: list[Path] = field(default_factory=list)


def collect_sample(sample: Path, out: Path) -> tuple[Bundle, list[Path]]:
    """The sample device's evidence: declaration, SBOMs, saved findings and, when it has one, a real scan of its
    firmware image (written to out/firmware/)."""
    bundle = build_bundle(
        declaration=sample / "declaration.yaml",
        sboms=sorted(sample.glob("*.cdx.json")) + sorted(sample.glob("*.spdx.json")),
        findings=sorted(sample.glob("findings*.json")),
    )
    files: list[Path] = []
    image = sample / "firmware.bin"
    if image.is_file():
        from iotmark.collect.firmware.scan import scan_image, write_scan

        scan = scan_image(image, bundle.target)
        files += write_scan(scan, out / "firmware")
        bundle = merge_bundles(bundle, [scan.bundle])
    return bundle, files


def run_demo(out: Path, sample: Path | None = None, keys: Path | None = None, base_url: str | None = None) -> DemoResult:
    """Main job: collect the sample's evidence, assess it, certify it, write label and every report."""
    from iotmark.assess.certificate import PUBLIC_NAME, init_keys, write_certificate
    from iotmark.assess.engine import assess
    from iotmark.assess.label import render_label_png, render_label_svg
    from iotmark.report import render

    sample = sample or sample_dir()
    if not sample.is_dir():
        raise InputError(f"{sample}: sample device folder not found (set IOTMARK_SAMPLE or pass --sample)")
    out.mkdir(parents=True, exist_ok=True)
    keys = keys or out / "keys"
    if not (keys / "issuer.key").exists():
        init_keys(keys)
    bundle, files = collect_sample(sample, out)
    bundle.save(out / "bundle.json")
    assessment = assess(bundle)
    assessment.risk["money"] = price_risk(out / "bundle.json", DEMO_UNITS, DEMO_PRICE)
    write_json(out / "assessment.json", assessment.model_dump(mode="json", by_alias=True))
    certificate = certify(bundle, assessment, keys / "issuer.key", base_url=base_url)
    write_certificate(certificate, out / "certificate.json")
    (out / "issuer.pub").write_bytes((keys / PUBLIC_NAME).read_bytes())
    (out / "label.svg").write_text(render_label_svg(certificate, assessment), encoding="utf-8")
    (out / "label.png").write_bytes(render_label_png(certificate, assessment))
    files += [out / n for n in ("bundle.json", "assessment.json", "certificate.json", "issuer.pub", "label.svg", "label.png")]
    for fmt, name in (("html", "report.html"), ("pdf", "report.pdf"), ("json", "report.json"),
                      ("sarif", "report.sarif"), ("vex", "vex.cdx.json"), ("oscal", "oscal-assessment-results.json")):
        files.append(render(fmt, out / name, bundle, assessment, certificate))
    return DemoResult(out, bundle, assessment, certificate, files)



@dataclass
class GateRun:
    bundle: Bundle
    assessment: Assessment
    result: object  # iotmark.programme.gate.GateResult
    sarif: dict


def release_gate(image: Path, device_class: str, baseline: Path | None = None, declaration: Path | None = None,
                 sboms: list[Path] | None = None, findings: list[Path] | None = None, timeout: float = 300.0) -> GateRun:
    """Release gate for a maker's CI: scan the build, assess it for its class, compare with the last release.

    The build's firmware is always scanned afresh; the baseline bundle's other evidence (declaration, SBOM, lab
    findings) carries over unless a new file of that kind is given."""
    import tempfile

    from iotmark.assess.engine import assess
    from iotmark.catalog import device_class as load_device_class
    from iotmark.collect.firmware.scan import scan_image
    from iotmark.collect.firmware.unpack import Limits
    from iotmark.programme.gate import Baseline, gate_sarif, judge, read_baseline

    dclass = load_device_class(device_class)
    base_bundle, base_assessment = read_baseline(baseline) if baseline else (None, None)
    scan = scan_image(image, None, limits=Limits(timeout_s=timeout))
    if scan.roots == 0:
        raise InputError(f"{image}: no root filesystem found: not a firmware image iotmark can read")
    replaced = {"firmware"} | ({"declaration"} if declaration else set()) | ({"sbom"} if sboms else set())
    named = base_bundle.target if base_bundle else scan.bundle.target
    if declaration is not None:
        from iotmark.collect.declaration import load_declaration

        named = load_declaration(declaration).target
    if base_bundle is not None and (base_bundle.target.vendor, base_bundle.target.model) != (named.vendor, named.model):
        raise InputError(f"{baseline}: the baseline is of {base_bundle.target.vendor} {base_bundle.target.model}, "
                         f"the declaration of {named.vendor} {named.model}")
    carried: Bundle | None = None
    if base_bundle is not None:
        carried = Bundle(target=named, declaration=None if declaration else base_bundle.declaration,
                         findings=[f for f in base_bundle.findings if f.kind not in replaced],
                         sources=[s for s in base_bundle.sources if s.kind not in replaced])
    with tempfile.TemporaryDirectory(prefix="iotmark-gate-") as work:
        parts = [Path(work) / "firmware.json"]
        if carried is not None and (carried.findings or carried.declaration):
            carried.save(Path(work) / "carried.json")
            parts.append(Path(work) / "carried.json")
        built = {"device_class": dclass.id, "firmware_version": scan.bundle.target.firmware_version}
        scan.bundle.target = named.model_copy(update=built)
        scan.bundle.save(parts[0])
        bundle = build_bundle(declaration=declaration, sboms=sboms, findings=findings, bundles=parts)
    bundle.target = bundle.target.model_copy(update=built)
    assessment = assess(bundle, device_class=dclass)
    the_baseline = None
    if base_assessment is not None:
        the_baseline = Baseline(assessment=base_assessment)
    elif base_bundle is not None:
        the_baseline = Baseline(assessment=assess(base_bundle, device_class=dclass), bundle=base_bundle)
    result = judge(bundle, assessment, the_baseline)
    if len(parts) > 1:
        kinds = sorted({s.kind for s in carried.sources} | ({"declaration"} if carried.declaration else set()))
        result.notes.insert(0, f"carried over from the baseline: {', '.join(kinds) or 'findings'} evidence")
    return GateRun(bundle, assessment, result, gate_sarif(bundle, assessment, result, the_baseline is not None))
