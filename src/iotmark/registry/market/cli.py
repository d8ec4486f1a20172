"""`iotmark registry vendor ...` commands of the market app. Only typer and the standard library at module level;
Django loads when a command runs (see iotmark.registry.cli._django)."""

from __future__ import annotations

from pathlib import Path

import typer

vendor_app = typer.Typer(help="Vendors' products, support periods and vulnerability reports.", no_args_is_help=True)


@vendor_app.command()
def seed(
    count: int = typer.Argument(..., help="number of synthetic certificates to create"),
    vendors: int = typer.Option(40, min=1, max=1000, help="number of synthetic vendors"),
    rng_seed: int = typer.Option(1, "--seed", help="random seed (the same seed gives the same data)"),
    database: str = typer.Option(None, help="database URL (default: IOTMARK_DATABASE_URL or SQLite)"),
) -> None:
    """Fill a demo database with synthetic products, firmware versions and certificates."""
    from iotmark.registry.cli import _django, _fail  # the core CLI's, loaded by the time a command runs

    _django(database)
    from iotmark.registry.market.seed import seed_certificates
    from iotmark.registry.services import RegistryError

    try:
        created = seed_certificates(count, vendors=vendors, rng_seed=rng_seed)
    except RegistryError as exc:
        _fail(str(exc))
    typer.echo(f"created {created} synthetic certificates across {vendors} vendors")


@vendor_app.command()
def facts(
    vendor: str = typer.Option(..., help="vendor organisation name, as registered"),
    out: Path = typer.Option(..., help="file to write the registry-facts JSON to"),
    database: str = typer.Option(None, help="database URL"),
) -> None:
    """Write the registry-facts document about one vendor (read by `iotmark programme`)."""
    import json

    from iotmark.registry.cli import _django, _fail  # the core CLI's, loaded by the time a command runs

    _django(database)
    from iotmark.registry.market.facts import vendor_facts
    from iotmark.registry.models import Organisation

    org = Organisation.objects.filter(name=vendor, kind="vendor").first()
    if org is None:
        _fail(f"no vendor named {vendor!r} in this registry")
    document = vendor_facts(org)
    try:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        _fail(f"{out}: cannot write ({exc.strerror})")
    typer.echo(f"wrote {out}: {len(document['products'])} products, "
               f"{len(document['vulnerability_reports'])} vulnerability reports")


@vendor_app.command()
def overdue(
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    database: str = typer.Option(None, help="database URL"),
) -> None:
    """List EU CRA reports past their deadline and not sent, across all vendors (for regulators)."""
    import json

    from iotmark.registry.cli import _django, _fail  # the core CLI's, loaded by the time a command runs

    _django(database)
    from iotmark.registry.market.clocks import overdue_reports

    found = overdue_reports()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in found], indent=2))
        return
    if not found:
        typer.echo("no overdue reports")
        return
    for r in found:
        missing = ", ".join(f"{m.replace('_', ' ')} (due {d:%Y-%m-%d %H:%M} UTC)" for m, d in zip(r.missing, r.due))
        typer.echo(f"{r.vendor} | {r.product} | {r.kind} #{r.report_id} {r.title!r} | missing: {missing}")
