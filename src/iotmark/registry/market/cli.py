"""`iotmark registry vendor ...` commands of the market app. Only typer and the standard library at module level;
Django loads when a command runs (see iotmark.registry.cli._django)."""

from __future__ import annotations

from pathlib import Path

import typer

vendor_app = typer.Typer(help="Vendors' products, support periods and vulnerability reports.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _django(database: str | None) -> None:
    from iotmark.registry.server import setup_django

    setup_django(database)


@vendor_app.command()
def seed(
    count: int = typer.Argument(..., help="number of synthetic certificates to create"),
    vendors: int = typer.Option(40, min=1, max=1000, help="number of synthetic vendors"),
    rng_seed: int = typer.Option(1, "--seed", help="random seed (the same seed gives the same data)"),
    database: str = typer.Option(None, help="database URL (default: IOTMARK_DATABASE_URL or SQLite)"),
) -> None:
    """Fill a demo database with synthetic products, firmware versions and certificates."""
    _django(database)
    from iotmark.registry.market.seed import seed_certificates
    from iotmark.registry.services import RegistryError

    try:
        created = seed_certificates(count, vendors=vendors, rng_seed=rng_seed)
    except RegistryError as exc:
        _fail(str(exc))
    typer.echo(f"created {created} synthetic certificates across {vendors} vendors")
