"""The `iotmark` command: parses arguments, calls a stage or a workflow, renders with Rich.

Heavy modules are imported inside the commands, and each sub-command's module is imported and its Click command
built only when that sub-command runs or shows its own help (COMMANDS below), so `iotmark --version` and
`iotmark --help` stay fast.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer import _click as click  # Typer's own copy of Click, whose classes its groups and commands are

from iotmark import __version__

# Every top-level command, in the order `iotmark --help` lists them: name -> (what builds it, its one-line help).
# What builds it is a Typer app or a command function, named "module:attribute", or a bare name defined in this
# module. Only the command that runs (or whose help is asked for) is imported and built; a test holds each help
# line to the command's own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "detect": ("iotmark.mitigate.cli:detect_command",
               "Find hosts behaving like botnet members (Mirai scanning, brute force, beaconing, floods)."),
    "notice": ("iotmark.mitigate.cli:notice_command", "The manufacturer → network-operator notice: affected "
               "models, indicators, MUD and containment rules."),
    "serve": ("iotmark.registry.cli:serve", "Serve the certificate registry (migrations applied)."),
    "gate": ("iotmark.programme.cli_design:gate", "Release gate: exit 0 when the build meets its class and does "
             "not regress, 1 when it fails, 2 on unusable input."),
    "bundle": ("bundle_cmd",
               "Collect evidence (declaration, SBOMs, saved findings, other bundles) into one bundle."),
    "assess": ("assess_cmd",
               "Assess a bundle: a verdict per provision and the level reached for the device class."),
    "certify": ("certify_cmd",
                "Sign a certificate for an assessed bundle (expiry never after the declared end of support)."),
    "verify": ("verify_cmd", "Verify a certificate: exit 0 valid, 1 not valid (reason printed), 2 unusable input."),
    "label": ("label_cmd", "Render the consumer label (SVG or PNG, by the --out suffix) for a certificate."),
    "report": ("report_cmd", "Write a report of a bundle in the format your tools read."),
    "demo": ("demo_cmd", "Main job: assess and certify the bundled sample device; write reports and the label."),
    "catalog": ("catalog_app", "Standards catalog: list, show and map provisions."),
    "declaration": ("declaration_app", "Vendor declarations (implementation conformance statements)."),
    "vulns": ("vulns_app", "Offline vulnerability data."),
    "keys": ("keys_app", "Issuer keys and revocation."),
    "sbom": ("sbom_app", "Software bills of materials."),
    "scan": ("scan_app", "Collect evidence: analyse firmware images and probe devices."),
    "risk": ("iotmark.risk.cli:app", "FAIR risk: money at risk per device, portfolio, controls. "
             "`risk BUNDLE --units N --price P` is short for `risk bundle BUNDLE ...`."),
    "lab": ("iotmark.collect.probe.cli:lab_app",
            "An insecure device (or its hardened twin) in a network namespace, to try the probe on."),
    "mitigate": ("iotmark.mitigate.cli:app", "Mitigate: MUD profiles, flow conformance, botnet detection, containment."),
    "mud": ("iotmark.mitigate.cli:mud_app", "Manufacturer Usage Description files (RFC 8520)."),
    "incident": ("iotmark.mitigate.cli:incident_app",
                 "Incident response by playbook (NIST SP 800-61r3) with EU CRA Art. 14 deadlines."),
    "share": ("iotmark.mitigate.cli:share_app", "Share detections, indicators and incidents as STIX 2.1 over TAXII 2.1."),
    "registry": ("iotmark.registry.cli:registry_app", "Public certificate registry (Django): serve it and administer it."),
    "programme": ("iotmark.programme.cli:programme_app", "The organisation's security programme: maturity, KPIs, "
                  "champions, training, external tests, threat models, board report."),
}
SCAN_COMMANDS: dict[str, tuple[str, str]] = {
    "device": ("iotmark.collect.probe.cli:scan_device",
               "Discover services, then test telnet, SSH, TLS, HTTP, MQTT, CoAP, UPnP, FTP/TFTP and SNMP."),
    "firmware": ("scan_firmware", "Extract firmware in a sandbox and analyse it: accounts, services, components, "
                 "secrets, hardening, updates."),
}
TYPER_SETTINGS: dict[str, bool] = {"pretty_exceptions_enable": False, "add_completion": False}


def build_command(name: str, target: str, help_line: str) -> click.Command:
    """Import what `target` names and build the Click command `name` from it, as `add_typer`/`command` would."""
    module, _, attribute = target.rpartition(":")
    found = getattr(importlib.import_module(module), attribute) if module else globals()[attribute]
    holder = typer.Typer(**TYPER_SETTINGS)
    if isinstance(found, typer.Typer):
        holder.add_typer(found, name=name)
    else:
        # A docstring that starts with the table's line is the full help; otherwise the table's line replaces it.
        doc = inspect.getdoc(found) or ""
        holder.command(name, help=None if doc.startswith(help_line) else help_line)(found)
    return typer.main.get_group(holder).commands[name]


class LazyCommands(MutableMapping):
    """A group's commands by name: those already built, then the table's, each built when first looked up.

    While `listing` is set (help pages, shell completion) a table entry not built yet is answered by a stand-in
    that carries only its name and help line, so listing the commands imports nothing."""

    def __init__(self, built: dict[str, click.Command], table: dict[str, tuple[str, str]]):
        self.built = dict(built)
        self.table = table
        self.listing = False

    def __getitem__(self, name: str) -> click.Command:
        if name in self.built:
            return self.built[name]
        target, help_line = self.table[name]
        if self.listing:
            return TyperCommand(name, help=help_line)
        self.built[name] = build_command(name, target, help_line)
        return self.built[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        del self.built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.table
        yield from (name for name in self.built if name not in self.table)

    def __len__(self) -> int:
        return len(self.table.keys() | self.built.keys())


class LazyGroup(TyperGroup):
    """A Typer group whose `table` commands are imported and built only when run or when their own help is asked."""

    table: dict[str, tuple[str, str]] = {}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.commands = LazyCommands(self.commands, self.table)

    @contextmanager
    def _listing(self) -> Iterator[None]:
        self.commands.listing = True
        try:
            yield
        finally:
            self.commands.listing = False

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with self._listing():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list:
        with self._listing():
            return super().shell_complete(ctx, incomplete)


def lazy_group(table: dict[str, tuple[str, str]]) -> type[LazyGroup]:
    """A LazyGroup class for one table (Typer takes the group class, not an instance)."""
    return type("LazyGroup", (LazyGroup,), {"table": table})


app = typer.Typer(cls=lazy_group(COMMANDS), help="Measure, certify and enforce IoT device security.",
                  no_args_is_help=True, **TYPER_SETTINGS)
catalog_app = typer.Typer(help=COMMANDS["catalog"][1], no_args_is_help=True)
declaration_app = typer.Typer(help=COMMANDS["declaration"][1], no_args_is_help=True)
vulns_app = typer.Typer(help=COMMANDS["vulns"][1], no_args_is_help=True)
keys_app = typer.Typer(help=COMMANDS["keys"][1], no_args_is_help=True)
sbom_app = typer.Typer(help=COMMANDS["sbom"][1], no_args_is_help=True)
scan_app = typer.Typer(cls=lazy_group(SCAN_COMMANDS), help=COMMANDS["scan"][1], no_args_is_help=True)


class UserError(Exception):
    """A failure to report in one line, with an exit code."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _console():
    from rich.console import Console

    return Console()


def _echo_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _default_keys() -> Path:
    from iotmark.workflows import iotmark_home

    return iotmark_home() / "keys"


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"iotmark {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """iotmark: IoT security assessment, certification and labelling."""


# --- catalog -------------------------------------------------------------------------------------------------

@catalog_app.command("list")
def catalog_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the standards in the catalog."""
    from iotmark.catalog import list_standards

    standards = list_standards()
    if as_json:
        _echo_json([{"id": s.id, "version": s.version, "title": s.title, "provisions": len(s.provisions)}
                    for s in standards])
        return
    from rich.table import Table

    table = Table("id", "version", "title", "provisions")
    for s in standards:
        table.add_row(s.id, s.version, s.title, str(len(s.provisions)))
    _console().print(table)


@catalog_app.command("show")
def catalog_show(standard: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show every provision of a standard (ID or ID@VERSION)."""
    from iotmark.catalog import catalog_as_json, load_standard

    std = load_standard(standard)
    if as_json:
        _echo_json(catalog_as_json(std))
        return
    from rich.table import Table

    table = Table("provision", "status", "title", "test cases", title=f"{std.title} ({std.id} {std.version})")
    for p in std.provisions:
        table.add_row(p.id, p.status, p.title, ", ".join(tc.id for tc in p.test_cases))
    _console().print(table)


@catalog_app.command("map")
def catalog_map(
    provision: str = typer.Argument(..., help="A provision (standard:id, e.g. etsi-en-303-645:5.1-1) or a standard id."),
    to: Optional[str] = typer.Option(None, "--to", help="Only mappings into this standard."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which provisions of other standards correspond to this one."""
    from iotmark.catalog import load_mappings, load_standard, related

    if ":" in provision:
        std_id, _, pid = provision.partition(":")
        load_standard(std_id).provision(pid)  # validates the id
        found = related(provision)
    else:
        std = load_standard(provision)
        found = [m for m in load_mappings() if m.from_.split(":")[0] == std.id or m.to.split(":")[0] == std.id]
    rows = []
    for m in found:
        if to and not (m.to.startswith(to + ":") or m.from_.startswith(to + ":")):
            continue
        rows.append({"from": m.from_, "to": m.to, "relation": m.relation, "verified": m.verified, "source": m.source})
    if as_json:
        _echo_json(rows)
        return
    from rich.table import Table

    table = Table("from", "to", "relation", "verified")
    for r in rows:
        table.add_row(r["from"], r["to"], r["relation"], "yes" if r["verified"] else "no")
    _console().print(table)


# --- declaration ---------------------------------------------------------------------------------------------

@declaration_app.command("template")
def declaration_template(
    device_class: str = typer.Option(..., "--class", help="Device class id (see `iotmark catalog classes`)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write here instead of standard output."),
) -> None:
    """Write a blank declaration for a device class."""
    from iotmark.catalog import device_class as load_class, load_standard
    from iotmark.collect.declaration import template

    dclass = load_class(device_class)
    std = load_standard(dclass.standard)
    text = template(dclass.id, [(p.id, p.status, p.title) for p in std.provisions])
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
    else:
        sys.stdout.write(text)


@declaration_app.command("check")
def declaration_check(path: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Validate a declaration and show the findings it yields."""
    from iotmark.collect.declaration import collect_declaration

    result = collect_declaration(path)
    _show_findings(result.findings, as_json, title=f"declaration {path.name}")


@declaration_app.command("schema")
def declaration_schema() -> None:
    """Print the JSON Schema of a declaration file (every question typed)."""
    from iotmark.collect.declaration import json_schema

    _echo_json(json_schema())


@catalog_app.command("classes")
def catalog_classes(as_json: bool = typer.Option(False, "--json")) -> None:
    """Device classes, their risk tier and the level each must reach."""
    from iotmark.catalog import load_device_classes

    classes = load_device_classes()
    if as_json:
        _echo_json([c.model_dump(mode="json") for c in classes.values()])
        return
    from rich.table import Table

    table = Table("class", "tier", "minimum level", "evidence", "examples")
    for c in classes.values():
        table.add_row(c.id, c.tier, str(c.minimum_level), ", ".join(c.required_evidence), ", ".join(c.examples[:3]))
    _console().print(table)


# --- evidence ------------------------------------------------------------------------------------------------

def _show_findings(findings, as_json: bool, title: str) -> None:
    if as_json:
        _echo_json([f.model_dump(mode="json") for f in findings])
        return
    from rich.table import Table

    from iotmark.model import SEVERITY_ORDER

    table = Table("outcome", "severity", "check", "title", "evidence", title=title)
    colours = {"fail": "red", "pass": "green", "not_tested": "yellow", "error": "magenta"}
    for f in sorted(findings, key=lambda f: (f.outcome != "fail", -SEVERITY_ORDER[f.severity], f.check)):
        ev = f.evidence
        where = ev.path or (f"{ev.address}:{ev.port}" if ev.address else "") or ev.source or ""
        table.add_row(f"[{colours[f.outcome]}]{f.outcome}[/]", f.severity, f.check, f.title, where)
    _console().print(table)


@sbom_app.command("scan")
def sbom_scan(path: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Read a CycloneDX or SPDX SBOM and report components with known vulnerabilities."""
    from iotmark.collect.sbom import collect_sbom

    result = collect_sbom(path)
    _show_findings(result.findings, as_json, title=f"{path.name}: {len(result.components)} components")


def bundle_cmd(
    out: Path = typer.Option(Path("bundle.json"), "--out", help="Where to write the evidence bundle."),
    target: Optional[Path] = typer.Option(None, "--target", help="target.yaml describing the device."),
    declaration: Optional[Path] = typer.Option(None, "--declaration", help="Vendor declaration (YAML/JSON)."),
    sbom: list[Path] = typer.Option([], "--sbom", help="CycloneDX or SPDX JSON SBOM (repeatable)."),
    findings: list[Path] = typer.Option([], "--findings", help="Saved findings JSON (repeatable)."),
    merge: list[Path] = typer.Option([], "--merge", help="Another bundle of the same device (repeatable)."),
) -> None:
    """Collect evidence (declaration, SBOMs, saved findings, other bundles) into one bundle."""
    from iotmark.workflows import build_bundle

    bundle = build_bundle(target, declaration, sbom, findings, merge)
    digest = bundle.save(out)
    fails = sum(1 for f in bundle.findings if f.outcome == "fail")
    typer.echo(f"wrote {out}: {len(bundle.findings)} findings ({fails} failing), sha256 {digest}")


# --- firmware -------------------------------------------------------------------------------------------------


def scan_firmware(
    image: Path = typer.Argument(..., help="A firmware image, or a folder of images (a fleet)."),
    target: Optional[Path] = typer.Option(None, "--target", help="target.yaml describing the device."),
    out: Path = typer.Option(Path("firmware-scan"), "--out", help="Folder for bundle.json and sbom.cdx.json."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Images scanned at once (Dask) for a folder of images."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a Dask distributed scheduler."),
    timeout: float = typer.Option(300.0, "--timeout", min=1.0, help="Seconds allowed for extracting one image."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary and findings as JSON."),
) -> None:
    """Extract firmware in a sandbox and analyse it: accounts, services, components, secrets, hardening, updates."""
    from rich.progress import Progress

    from iotmark.collect.firmware.scan import firmware_images, scan_fleet, scan_image, summary, write_scan
    from iotmark.collect.firmware.unpack import Limits
    from iotmark.inputs import load_model
    from iotmark.model import Target
    from iotmark.workflows import write_json

    the_target = load_model(target, Target, max_bytes=1024 * 1024) if target else None
    limits = Limits(timeout_s=timeout)
    if image.is_dir():
        images = firmware_images(image)
        if not images:
            raise UserError(f"{image}: folder holds no image files")
        with Progress(transient=True) as progress:
            progress.add_task(f"scanning {len(images)} images with {workers} worker(s)", total=None)
            scans, errors = scan_fleet(images, the_target, workers=workers, scheduler=scheduler, limits=limits)
        for scan in scans:
            write_scan(scan, out / scan.image.name)
        rows = [summary(s) for s in scans]
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "fleet.json", {"images": rows, "errors": errors})
        if as_json:
            _echo_json({"images": rows, "errors": errors})
        else:
            for row in rows:
                typer.echo(f"{row['image']}: {row['findings'].get('fail', 0)} failing, "
                           f"{row['components']} components{' (partial extraction)' if row['partial'] else ''}")
            for line in errors:
                typer.echo(f"error: {line}", err=True)
            typer.echo(f"wrote {out}/fleet.json and one folder per image")
        if errors and not scans:
            raise UserError(f"{image}: no image could be used")
        return
    with Progress(transient=True) as progress:
        progress.add_task(f"extracting and analysing {image.name}", total=None)
        scan = scan_image(image, the_target, limits=limits)
    write_scan(scan, out)
    if as_json:
        _echo_json({"summary": summary(scan), "findings": [f.model_dump(mode="json") for f in scan.bundle.findings]})
        return
    _show_findings(scan.bundle.findings, False, title=f"{image.name}: {len(scan.bundle.components)} components")
    if scan.partial:
        typer.echo("note: part of the image could not be extracted; see the firmware.unpack findings", err=True)
    typer.echo(f"wrote {out / 'bundle.json'} and {out / 'sbom.cdx.json'}")


# --- vulnerabilities -----------------------------------------------------------------------------------------

@vulns_app.command("import")
def vulns_import(paths: list[Path]) -> None:
    """Import OSV JSON exports or NVD 2.0 JSON files for offline matching."""
    from iotmark.vulns import import_files

    result = import_files(paths)
    typer.echo(str(result))


@vulns_app.command("match")
def vulns_match(name: str, version: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Known vulnerabilities of a component version."""
    from iotmark.vulns import VulnDB

    hits = VulnDB.load().match(name, version)
    if as_json:
        _echo_json([h.model_dump(mode="json") for h in hits])
        return
    if not hits:
        typer.echo(f"no known vulnerabilities for {name} {version} in the offline data")
        return
    from rich.table import Table

    table = Table("id", "severity", "summary")
    for h in hits:
        table.add_row(h.id, h.severity, h.summary)
    _console().print(table)


# --- assessment and certificates -----------------------------------------------------------------------------

def _verdict_table(assessment):
    from rich.table import Table

    colours = {"PASS": "green", "FAIL": "red", "NOT_APPLICABLE": "dim", "INCONCLUSIVE": "yellow"}
    table = Table("provision", "status", "verdict", "reason",
                  title=f"{assessment.target.label}: {assessment.standard} {assessment.standard_version}")
    for v in assessment.verdicts:
        table.add_row(v.provision, v.status, f"[{colours[v.verdict.value]}]{v.verdict.value}[/]", v.reason)
    return table


def _level_line(assessment) -> str:
    verdict = "meets" if assessment.meets_class else "does NOT meet"
    return (f"level reached: {assessment.level} ({assessment.level_name}); class {assessment.device_class.id} "
            f"requires {assessment.required_level}: {verdict} its class")


def assess_cmd(
    bundle: Path,
    standard: str = typer.Option("etsi-en-303-645", "--standard", help="Standard id (or id@version)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the assessment JSON here."),
    units: Optional[int] = typer.Option(None, "--units", min=1, help="Units in the field: price the risk (FAIR)."),
    price: Optional[float] = typer.Option(None, "--price", min=0.0, help="Unit sale price, with --units."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Assess a bundle: a verdict per provision and the level reached for the device class."""
    from iotmark.assess.engine import assess
    from iotmark.inputs import load_bundle
    from iotmark.workflows import price_risk, write_json

    if (units is None) != (price is None):
        raise UserError("--units and --price go together: give both to price the risk, or neither")
    result = assess(load_bundle(bundle), standard)
    if units is not None and price is not None:
        result.risk["money"] = price_risk(bundle, units, price)
    data = result.model_dump(mode="json", by_alias=True)
    if out:
        write_json(out, data)
    if as_json:
        _echo_json(data)
        return
    console = _console()
    console.print(_verdict_table(result))
    console.print(_level_line(result))
    console.print(f"verdicts: {result.counts()}")


@keys_app.command("init")
def keys_init(
    directory: Optional[Path] = typer.Option(None, "--dir", help="Key folder (default $IOTMARK_HOME/keys)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing key."),
) -> None:
    """Create the issuer's Ed25519 signing key (private key mode 0600)."""
    from iotmark.assess.certificate import init_keys

    private, public, kid = init_keys(directory or _default_keys(), force=force)
    typer.echo(f"key {kid}: private {private} (mode 600), public {public}")


@keys_app.command("revoke")
def keys_revoke(
    cert_id: str = typer.Argument(..., help="Certificate id or a certificate file."),
    reason: str = typer.Option(..., "--reason"),
    directory: Optional[Path] = typer.Option(None, "--dir", help="Key folder (default $IOTMARK_HOME/keys)."),
) -> None:
    """Revoke a certificate in the issuer's signed revocation list."""
    from iotmark.assess.certificate import read_certificate, revoke

    if Path(cert_id).is_file():
        cert_id = read_certificate(Path(cert_id))[0].id
    path = revoke(directory or _default_keys(), cert_id, reason)
    typer.echo(f"revoked {cert_id}; revocation list {path}")


def certify_cmd(
    bundle: Path,
    assessment: Optional[Path] = typer.Option(None, "--assessment", help="Use this saved assessment of the bundle."),
    standard: str = typer.Option("etsi-en-303-645", "--standard"),
    keys: Optional[Path] = typer.Option(None, "--keys", help="Key folder (default $IOTMARK_HOME/keys)."),
    issuer: str = typer.Option("iotmark demo lab", "--issuer", help="Name of the certifying lab."),
    registry: Optional[str] = typer.Option(None, "--registry-url", help="Base URL of the registry for the QR code."),
    out: Path = typer.Option(Path("certificate.json"), "--out"),
) -> None:
    """Sign a certificate for an assessed bundle (expiry never after the declared end of support)."""
    from iotmark.assess.certificate import write_certificate
    from iotmark.assess.engine import assess
    from iotmark.inputs import load_bundle
    from iotmark.workflows import certify, load_assessment

    the_bundle = load_bundle(bundle)
    the_assessment = load_assessment(assessment) if assessment else assess(the_bundle, standard)
    cert = certify(the_bundle, the_assessment, (keys or _default_keys()) / "issuer.key", issuer, registry)
    write_certificate(cert, out)
    typer.echo(f"certificate {cert.id}: level {cert.level} ({cert.level_name}), valid {cert.issued} to {cert.expires}; "
               f"wrote {out}")


def verify_cmd(
    certificate: Path,
    key: list[Path] = typer.Option(..., "--key", help="Trusted issuer public key (repeatable)."),
    revocations: Optional[Path] = typer.Option(None, "--revocations", help="Issuer's signed revocation list."),
) -> None:
    """Verify a certificate: exit 0 valid, 1 not valid (reason printed), 2 unusable input."""
    from iotmark.assess.certificate import verify_certificate

    result = verify_certificate(certificate, key, revocations)
    if result.valid:
        typer.echo(f"valid: {result.reason}")
        return
    typer.echo(f"NOT valid: {result.reason}")
    raise typer.Exit(1)


def label_cmd(
    certificate: Path,
    out: Path = typer.Option(Path("label.svg"), "--out", help="label.svg or label.png"),
    assessment: Optional[Path] = typer.Option(None, "--assessment"),
) -> None:
    """Render the consumer label (SVG or PNG, by the --out suffix) for a certificate."""
    from iotmark.assess.certificate import read_certificate
    from iotmark.assess.label import render_label_png, render_label_svg
    from iotmark.workflows import load_assessment

    cert, _ = read_certificate(certificate)
    the_assessment = load_assessment(assessment) if assessment else None
    if out.suffix.lower() == ".png":
        out.write_bytes(render_label_png(cert, the_assessment))
    elif out.suffix.lower() == ".svg":
        out.write_text(render_label_svg(cert, the_assessment), encoding="utf-8")
    else:
        raise UserError(f"{out}: the label is written as .svg or .png")
    typer.echo(f"wrote {out}")


def report_cmd(
    bundle: Path,
    fmt: str = typer.Option("html", "--format", help="html, pdf, json, sarif, vex, oscal or sbom"),
    out: Optional[Path] = typer.Option(None, "--out"),
    assessment: Optional[Path] = typer.Option(None, "--assessment", help="Saved assessment (else assessed now)."),
    certificate: Optional[Path] = typer.Option(None, "--certificate"),
    standard: str = typer.Option("etsi-en-303-645", "--standard"),
) -> None:
    """Write a report of a bundle in the format your tools read."""
    from iotmark.assess.certificate import read_certificate
    from iotmark.assess.engine import assess
    from iotmark.inputs import load_bundle
    from iotmark.report import FORMATS, render
    from iotmark.workflows import load_assessment

    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    the_bundle = load_bundle(bundle)
    the_assessment = load_assessment(assessment) if assessment else assess(the_bundle, standard)
    cert = read_certificate(certificate)[0] if certificate else None
    suffix = {"html": "html", "pdf": "pdf", "json": "json", "sarif": "sarif", "vex": "cdx.json", "oscal": "oscal.json"}
    out = out or Path(f"report.{suffix[fmt]}")
    path = render(fmt, out, the_bundle, the_assessment, cert)
    typer.echo(f"wrote {path}")


def demo_cmd(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for the bundle, certificate, label and reports."),
    sample: Optional[Path] = typer.Option(None, "--sample", help="Another sample device folder."),
    serve: bool = typer.Option(False, "--serve", help="Then publish the certificate to the embedded registry "
                                                      "(SQLite in IOTMARK_HOME) and serve it until Ctrl-C."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port for --serve (on 127.0.0.1)."),
) -> None:
    """Main job: assess and certify the bundled sample device; write reports and the label."""
    from rich.progress import Progress

    from iotmark.workflows import run_demo

    base_url = f"http://127.0.0.1:{port}" if serve else None  # the label's QR code opens the served registry
    with Progress(transient=True) as progress:
        progress.add_task("assessing and certifying the sample device", total=None)
        result = run_demo(out, sample, base_url=base_url)
    console = _console()
    console.print(_verdict_table(result.assessment))
    console.print(_level_line(result.assessment))
    console.print(f"certificate {result.certificate.id} valid until {result.certificate.expires}; "
                  f"verify: iotmark verify {out / 'certificate.json'} --key {out / 'issuer.pub'}")
    console.print(f"wrote {len(result.files)} files to {out}/: " + ", ".join(str(p.relative_to(out)) for p in result.files))
    if serve:
        from iotmark.registry.publish import PublishError, publish_embedded
        from iotmark.registry.server import serve as serve_registry

        try:
            cert_id = publish_embedded(out / "certificate.json", out / "assessment.json", out / "issuer.pub",
                                       bundle=out / "bundle.json")
        except PublishError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        console.print(f"open http://127.0.0.1:{port}/verify/{cert_id}  (Ctrl-C to stop)")
        try:
            serve_registry("127.0.0.1", port)
        except KeyboardInterrupt:
            console.print("registry stopped")


def _known_errors() -> tuple[type[BaseException], ...]:
    from iotmark.inputs import InputError

    errors: list[type[BaseException]] = [InputError, UserError, OSError]
    for module, name in (("iotmark.catalog", "CatalogError"), ("iotmark.vulns", "VulnImportError"),
                         ("iotmark.vulns", "VersionError"), ("iotmark.collect.sbom", "SbomError"),
                         ("iotmark.report", "ReportError"),
                         ("iotmark.collect.firmware.scan", "FirmwareInputError")):
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, name):
            errors.append(getattr(mod, name))
    return tuple(errors)


COMPLETE_VAR = "_IOTMARK_COMPLETE"


def main() -> None:
    if os.environ.get(COMPLETE_VAR):
        # Shell completion (`eval "$(_IOTMARK_COMPLETE=source_bash iotmark)"`): Typer knows the shells only once
        # they are registered, which the app leaves to this moment so a normal start does not pay for it.
        from typer.completion import completion_init

        completion_init()
    try:
        app(complete_var=COMPLETE_VAR)
    except Exception as exc:  # noqa: BLE001 - turn known failures into one line and an exit code
        from iotmark.assess import certificate as certmod

        if isinstance(exc, certmod.CertificateError):
            typer.echo(f"error: {exc}", err=True)
            raise SystemExit(1) from None
        if isinstance(exc, _known_errors()):
            typer.echo(f"error: {exc}", err=True)
            raise SystemExit(getattr(exc, "code", 2)) from None
        raise


if __name__ == "__main__":
    main()
