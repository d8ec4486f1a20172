"""`iotmark risk`: FAIR analysis from the command line.

    iotmark risk run FILE [--iterations N] [--seed S] [--json | --format json|html|csv] [--out F] [--plot lec.png]
    iotmark risk compare FILE FILE ...
    iotmark risk BUNDLE --units N --price P      (same as `iotmark risk bundle BUNDLE ...`)
    iotmark risk library

Only typer and the standard library are imported here; NumPy and the engine load inside the commands so
`iotmark --version` stays fast. Bad input ends with one line `error: FILE: FIELD: what was expected`, exit 2.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Optional

import click
import typer
from typer.core import TyperGroup

FORMATS = ("table", "json", "html", "csv")


class _DefaultToBundle(TyperGroup):
    """Reads `iotmark risk BUNDLE ...` as `iotmark risk bundle BUNDLE ...` when BUNDLE is not a command name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["bundle", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DefaultToBundle, help="FAIR risk: money at risk per device, portfolio, controls. "
                  "`risk BUNDLE --units N --price P` is short for `risk bundle BUNDLE ...`.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Known input failures become `error: ...` on stderr and exit code 2, never a traceback."""
    from iotmark.inputs import InputError

    try:
        yield
    except (InputError, OSError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A progress callback (blocks done, blocks total) drawn on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _check_format(fmt: str, as_json: bool) -> str:
    fmt = "json" if as_json else fmt
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    return fmt


def _emit(result: dict[str, Any], fmt: str, out: Optional[Path], plot: Optional[Path], title: str) -> None:
    from iotmark.risk import outputs

    if plot is not None:
        from iotmark.risk.plot import save_lec

        save_lec(result, plot)
    if fmt == "table":
        _print_table(result, title)
        text = None
    elif fmt == "json":
        text = json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n"
    elif fmt == "csv":
        text = outputs.to_csv(result)
    else:
        from iotmark.risk.plot import lec_svg

        text = outputs.to_html(result, title=title, chart_svg=lec_svg(result))
    if text is None:
        return
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


def _print_table(result: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{title} ({result['iterations']:,} iterations, seed {result['seed']}, {result['currency']})")
    for column in ("scenario", "mean", "sd", "P10", "P50", "P90", "P95", "P99"):
        table.add_column(column, justify="left" if column == "scenario" else "right")

    def add(name: str, data: dict[str, Any]) -> None:
        table.add_row(name, *(f"{v:,.0f}" for v in (data["mean"], data["sd"], *data["percentiles"].values())))

    for scenario in result["scenarios"]:
        add(scenario["name"], scenario)
    if len(result["scenarios"]) > 1:
        add("portfolio total", result["portfolio"])
    console = Console()
    console.print(table)
    if "after_fixing" in result:
        after = result["after_fixing"]["portfolio"]["mean"]
        console.print(f"expected annual loss as found {result['portfolio']['mean']:,.0f}; after fixing "
                      f"{after:,.0f} (reduction {result['risk_reduction']:,.0f})")
    for key in ("fixes", "controls"):
        for row in result.get(key) or []:
            rosi = "n/a" if row["rosi"] is None else f"{row['rosi']:.1f}"
            console.print(f"{'fix' if key == 'fixes' else 'control'} #{row['rank']}: {row['name']}: reduces "
                          f"{row['risk_reduction']:,.0f} a year for {row['cost']:,.0f} (ROSI {rosi})")


_ITERATIONS = typer.Option(None, "--iterations", "-n", min=1, help="Monte-Carlo iterations (default: file or 1,000,000).")
_SEED = typer.Option(None, "--seed", min=0, help="Root seed; each scenario's streams are derived from it.")
_JSON = typer.Option(False, "--json", help="Print the JSON result (same as --format json).")
_FORMAT = typer.Option("table", "--format", help="table, json, html or csv.")
_OUT = typer.Option(None, "--out", help="Write the formatted result to this file instead of stdout.")
_PLOT = typer.Option(None, "--plot", help="Write the loss exceedance curve to this .png or .svg file.")
_WORKERS = typer.Option(0, "--workers", min=0, help="Run on this many local Dask worker processes.")


@app.command("run")
def run(
    file: Path = typer.Argument(..., help="Scenario file (YAML or JSON)."),
    iterations: Optional[int] = _ITERATIONS,
    seed: Optional[int] = _SEED,
    as_json: bool = _JSON,
    fmt: str = _FORMAT,
    out: Optional[Path] = _OUT,
    plot: Optional[Path] = _PLOT,
    workers: int = _WORKERS,
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler."),
) -> None:
    """Simulate the scenarios of a file, their portfolio, and rank its controls."""
    with _one_line_errors():
        fmt = _check_format(fmt, as_json)
        from iotmark.risk.analysis import run_file

        with _progress("simulating") as progress:
            result = run_file(file, iterations, seed, workers, scheduler, progress)
        _emit(result, fmt, out, plot, f"FAIR risk: {file.name}")


@app.command("compare")
def compare(
    files: List[Path] = typer.Argument(..., help="Two or more scenario files; the first is the baseline."),
    iterations: Optional[int] = _ITERATIONS,
    seed: Optional[int] = _SEED,
    as_json: bool = _JSON,
    workers: int = _WORKERS,
) -> None:
    """Run scenario files with the same seed and show each portfolio against the first."""
    with _one_line_errors():
        if len(files) < 2:
            raise ValueError("compare: expected two or more scenario files")
        from iotmark.risk.analysis import compare_files

        result = compare_files(files, iterations, seed, workers)
        if as_json:
            sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
            return
        for row in result["comparison"]:
            ratio = row["mean_change_ratio"]
            change = "baseline" if row["file"] == result["baseline"] else f"{ratio:+.1%}" if ratio is not None else "n/a"
            typer.echo(f"{row['file']}: mean {row['mean']:,.0f}  P90 {row['p90']:,.0f}  P99 {row['p99']:,.0f}  "
                       f"({change})")


@app.command("bundle")
def bundle(
    evidence: Path = typer.Argument(..., help="Evidence bundle (bundle.json) or assessment (assessment.json)."),
    units: int = typer.Option(..., "--units", min=1, help="Devices of this model in the field."),
    price: float = typer.Option(..., "--price", min=0, help="Unit sale price."),
    turnover: Optional[float] = typer.Option(None, "--turnover", min=0,
                                             help="Maker's annual turnover, for fine caps (default units x price)."),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", min=1, help="Iterations (default 200,000)."),
    seed: Optional[int] = _SEED,
    as_json: bool = _JSON,
    fmt: str = _FORMAT,
    out: Optional[Path] = _OUT,
    plot: Optional[Path] = _PLOT,
    workers: int = _WORKERS,
) -> None:
    """Price a device from its findings: library scenarios for its class, as found and after fixing."""
    with _one_line_errors():
        fmt = _check_format(fmt, as_json)
        from iotmark.risk.analysis import DEFAULT_SEED, price_evidence

        with _progress("pricing findings") as progress:
            result = price_evidence(evidence, units, price, turnover, iterations or 200_000,
                                    DEFAULT_SEED if seed is None else seed, workers, progress)
        model = result["target"].get("model", evidence.name)
        _emit(result, fmt, out, plot, f"FAIR risk: {model}")


@app.command("library")
def library(as_json: bool = _JSON) -> None:
    """List the IoT scenario library, the controls library and the fine caps (with their legal sources)."""
    from iotmark.risk.library import controls_library, fine_caps, templates

    data = {"scenarios": [{k: t[k] for k in ("id", "title", "classes")} for t in templates()],
            "controls": [{"name": c.name, "cost": c.cost, "applies_to": c.applies_to} for c in controls_library()],
            "fine_caps": fine_caps()}
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    for t in data["scenarios"]:
        typer.echo(f"scenario {t['id']}: {t['title']} (classes: {', '.join(t['classes'])})")
    for c in data["controls"]:
        typer.echo(f"control {c['name']}: {c['cost']:,.0f} a year")
    for cap in data["fine_caps"]:
        typer.echo(f"fine cap {cap['id']}: EUR {cap['fixed']:,} or {cap['share']:.1%} of turnover ({cap['source']})")
