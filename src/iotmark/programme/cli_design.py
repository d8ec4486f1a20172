"""`iotmark programme` commands for threat models and the board report, and the `iotmark gate` release gate.

Only typer and the standard library at module level, so `iotmark --version` stays fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from iotmark.programme.cli import programme_app


@programme_app.command("threats")
def threats_command(
    model: Path = typer.Argument(..., help="Threat model YAML: elements, flows, trust boundaries, data classes."),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
    scenarios: Optional[Path] = typer.Option(None, "--scenarios",
                                             help="Write FAIR scenarios of the unmitigated threats (for `iotmark risk run`)."),
    findings: Optional[Path] = typer.Option(None, "--findings",
                                            help="Write design.threat.* findings (for `iotmark bundle --findings`)."),
    units: Optional[int] = typer.Option(None, "--units", min=1, help="Units in the field (else the model's fleet)."),
    price: Optional[float] = typer.Option(None, "--price", min=0.0, help="Unit price (else the model's fleet)."),
) -> None:
    """STRIDE threats of a device's data flows, mapped to EN 303 645 provisions and FAIR scenarios."""
    from iotmark.inputs import InputError, read_bytes
    from iotmark.programme.threats import (STRIDE_NAMES, Fleet, analyse, load_threat_model, risk_scenarios,
                                           threat_findings)

    the_model = load_threat_model(model)
    analysis = analyse(the_model, model.name)
    if findings:
        text = read_bytes(model).decode("utf-8", "replace")
        found = threat_findings(analysis, text)
        findings.write_text(json.dumps({"findings": [f.model_dump(mode="json") for f in found]}, indent=2) + "\n",
                            encoding="utf-8")
    wrote_scenarios = False
    if scenarios:
        if (units is None) != (price is None):
            raise InputError("--units and --price go together")
        fleet = Fleet(units=units, price=price) if units is not None and price is not None else the_model.fleet
        if fleet is None:
            raise InputError(f"{model}: no fleet to price: add `fleet: {{units: N, price: P}}` or give --units and --price")
        if analysis.unmitigated:
            import yaml

            data = risk_scenarios(analysis, fleet)
            scenarios.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
            wrote_scenarios = True
    if as_json:
        out = analysis.model_dump(mode="json")
        out["by_stride"] = analysis.by_stride()
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("STRIDE", "threat", "on", "severity", "status", "provisions",
                  title=f"{the_model.device.vendor} {the_model.device.model}: design threats")
    for t in sorted(analysis.threats, key=lambda t: (t.mitigated, "STRIDE".index(t.stride), t.threat)):
        status = "[green]mitigated[/]" if t.mitigated else "[red]UNMITIGATED[/]"
        table.add_row(STRIDE_NAMES[t.stride], t.title, t.target_name, t.severity, status, ", ".join(t.provisions))
    console = Console()
    console.print(table)
    console.print(f"{len(analysis.threats)} threats, {len(analysis.unmitigated)} unmitigated")
    if findings:
        console.print(f"wrote {findings}")
    if scenarios:
        console.print(f"wrote {scenarios}; price it: iotmark risk run {scenarios}" if wrote_scenarios
                      else f"no unmitigated threat: {scenarios} not written")



@programme_app.command("report")
def report_command(
    workspace: Path = typer.Argument(..., help="Programme workspace folder (organisation.yaml, assessments/, board.yaml)."),
    facts: Path = typer.Option(..., "--facts", help="Registry facts file (`iotmark registry vendor facts`)."),
    out: Path = typer.Option(Path("board-report.pdf"), "--out", help="board-report.pdf or .html"),
    bundle: list[Path] = typer.Option([], "--bundle", help="A product's evidence bundle, for risk in money (repeatable)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Report date YYYY-MM-DD (default: the facts' date)."),
    iterations: int = typer.Option(50_000, "--iterations", min=1000, max=10_000_000, help="FAIR iterations per product."),
) -> None:
    """Board report (PDF or HTML): risk in money, certification, maturity, KPIs, incidents, cases, recall exposure."""
    import datetime as dt

    from iotmark.inputs import InputError
    from iotmark.programme.board import build_board, write_board

    if out.suffix.lower() not in (".pdf", ".html"):
        raise InputError(f"{out}: the board report is written as .pdf or .html")
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InputError(f"--as-of {as_of}: expected a date YYYY-MM-DD") from None
    board = build_board(workspace, facts, bundle, day, iterations)
    write_board(board, out)
    typer.echo(f"wrote {out}: " + "; ".join(f"{k}: {v}" for k, v in board.summary.items()))


def gate(
    image: Path = typer.Argument(..., help="The firmware build to release."),
    device_class: str = typer.Option(..., "--class", help="Device class id (see `iotmark catalog classes`)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline",
                                            help="The last release's bundle.json (or assessment.json) to compare with."),
    sarif: Optional[Path] = typer.Option(None, "--sarif", help="Write the failing findings as SARIF 2.1.0 here."),
    declaration: Optional[Path] = typer.Option(None, "--declaration",
                                               help="Vendor declaration (else the baseline bundle's, if any)."),
    sbom: list[Path] = typer.Option([], "--sbom", help="SBOM of the build (repeatable)."),
    findings: list[Path] = typer.Option([], "--findings", help="More saved findings, e.g. design threats (repeatable)."),
    save_bundle: Optional[Path] = typer.Option(None, "--save-bundle",
                                               help="Write this build's bundle here: the next release's baseline."),
    timeout: float = typer.Option(300.0, "--timeout", min=1.0, help="Seconds allowed for extracting the image."),
    as_json: bool = typer.Option(False, "--json", help="Print the gate result as JSON."),
) -> None:
    """Release gate: exit 0 when the build meets its class and does not regress, 1 when it fails, 2 on unusable input."""
    from iotmark.programme.gate import write_sarif
    from iotmark.workflows import release_gate

    run = release_gate(image, device_class, baseline=baseline, declaration=declaration, sboms=sbom,
                       findings=findings, timeout=timeout)
    result = run.result
    if sarif:
        write_sarif(sarif, run.sarif)
    if save_bundle:
        run.bundle.save(save_bundle)
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    else:
        verdict = "PASSED" if result.passed else "FAILED"
        typer.echo(f"release gate {verdict}: {run.bundle.target.label}, level {result.level} ({result.level_name}); "
                   f"class {result.device_class} requires {result.required_level}"
                   + (f"; last release reached {result.baseline_level}" if result.baseline_level is not None else ""))
        for reason in result.reasons:
            typer.echo(f"  - {reason}")
        for note in result.notes:
            typer.echo(f"  note: {note}")
        if sarif:
            typer.echo(f"wrote {sarif} ({len(run.sarif['runs'][0]['results'])} failing findings)")
    if not result.passed:
        raise typer.Exit(1)
