"""`iotmark registry enforce ...` commands of the enforcement app. Only typer and the standard library at module
level; Django loads when a command runs (see iotmark.registry.cli._django)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

enforce_app = typer.Typer(help="Regulators' non-compliance cases and attributed incidents.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _django(database: str | None) -> None:
    from iotmark.registry.server import setup_django

    setup_django(database)


@enforce_app.command("import-incident")
def import_incident(
    file: Path = typer.Argument(..., help="incident JSON written by `iotmark incident open`"),
    product: str = typer.Option(..., help='the product model involved, as "VENDOR/MODEL"'),
    devices: int = typer.Option(..., help="number of affected devices of that model"),
    database: str = typer.Option(None, help="database URL (default: IOTMARK_DATABASE_URL or SQLite)"),
) -> None:
    """Import an incident, attribute it to a product model and estimate the loss it caused to others (FAIR)."""
    if devices < 1:
        _fail(f"--devices must be 1 or more, got {devices}")
    if not file.is_file():
        _fail(f"{file}: no such file")
    _django(database)
    from iotmark.mitigate.untrusted import BadInput, read_limited
    from iotmark.registry.enforcement import services
    from iotmark.registry.services import RegistryError

    try:
        raw = read_limited(file, services.MAX_INCIDENT_BYTES)
        incident, attribution = services.import_incident(None, raw, services.product_by_name(product), devices)
    except BadInput as exc:
        _fail(f"{file}: {exc}")
    except RegistryError as exc:
        _fail(f"{file}: {exc}" if "incident" in str(exc) else str(exc))
    typer.echo(f"{incident.incident_id} attributed to {attribution.product.vendor.name} / {attribution.product.model}"
               f" ({attribution.devices} devices): estimated loss to others {attribution.loss_mean:,.0f} "
               f"{attribution.currency} on average, {attribution.loss_p90:,.0f} at the 90th percentile")


@enforce_app.command("record")
def record(
    vendor: str = typer.Option(..., help="vendor organisation name"),
    database: str = typer.Option(None, help="database URL"),
) -> None:
    """Print a vendor's public enforcement record as JSON."""
    _django(database)
    from iotmark.registry.enforcement.public import vendor_record
    from iotmark.registry.models import Organisation

    org = Organisation.objects.filter(name=vendor, kind=Organisation.Kind.VENDOR).first()
    if org is None:
        _fail(f"no vendor named {vendor!r} in the registry")
    typer.echo(json.dumps(vendor_record(org), indent=2, default=str))
