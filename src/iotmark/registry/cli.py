"""`iotmark registry ...`: serve, migrate, create users, trust lab keys, revoke. Imports only typer and the
standard library at module level so the main CLI stays fast; Django loads when a command runs."""

from __future__ import annotations

from pathlib import Path

import typer

registry_app = typer.Typer(help="Public certificate registry (Django): serve it and administer it.",
                           no_args_is_help=True)

ROLES = ("lab", "vendor", "regulator", "admin")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _django(database: str | None) -> None:
    """Configure Django and, when the database lacks migrations (a fresh one), apply them, so every command works
    on a fresh database; an up-to-date database is only read, so a running server is not disturbed."""
    from iotmark.registry.server import migrate, setup_django

    setup_django(database)
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        migrate()


@registry_app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
    database: str = typer.Option(None, help="postgresql://... or sqlite:///path (default: SQLite in IOTMARK_HOME)"),
    threads: int = typer.Option(8, min=1, max=256, help="worker threads"),
    workers: int = typer.Option(0, min=0, max=64, help="gunicorn worker processes; 0 serves from one process "
                                                       "with waitress"),
) -> None:
    """Apply migrations and serve the registry (waitress, or gunicorn with --workers N)."""
    from iotmark.registry.server import serve as run

    typer.echo(f"iotmark registry on http://{host}:{port}/ (Ctrl-C to stop)")
    run(host, port, threads=threads, database_url=database, workers=workers)


@registry_app.command()
def migrate(database: str = typer.Option(None, help="database URL (default: IOTMARK_DATABASE_URL or SQLite)")) -> None:
    """Create or update the registry's tables."""
    _django(database)
    from iotmark.registry.server import migrate as run

    run(verbosity=1)


@registry_app.command()
def createuser(
    username: str,
    role: str = typer.Option(..., help="lab | vendor | regulator | admin"),
    org: str = typer.Option(None, help="organisation the user acts for (required except for admin)"),
    email: str = typer.Option("", help="e-mail address"),
    password: str = typer.Option(None, help="password (prompted when omitted and --no-password is not given)"),
    no_password: bool = typer.Option(False, "--no-password", help="API-token-only user, no web login"),
    token: bool = typer.Option(False, "--token", help="also issue an API token and print it once"),
    database: str = typer.Option(None, help="database URL"),
) -> None:
    """Create a registry user with a role."""
    if role not in ROLES:
        _fail(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if password is None and not no_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    _django(database)
    from iotmark.registry import services

    try:
        user = services.create_user(username, None if no_password else password, role, org, email)
    except services.RegistryError as exc:
        _fail(str(exc))
    typer.echo(f"created {role} user {username}" + (f" for {org}" if org and role != "admin" else ""))
    if token:
        typer.echo(f"API token (shown once): {services.issue_token(user, 'createuser', actor='system')}")


@registry_app.command("trust-key")
def trust_key(
    pub: Path = typer.Argument(..., help="the lab's issuer.pub (Ed25519 PEM)"),
    org: str = typer.Option(..., help="lab organisation that owns the key (created if new)"),
    untrusted: bool = typer.Option(False, "--untrusted", help="register the key but stop trusting it"),
    database: str = typer.Option(None, help="database URL"),
) -> None:
    """Trust a lab's public key: certificates it signed can then be uploaded by that lab."""
    if not pub.is_file() or pub.stat().st_size > 64 * 1024:
        _fail(f"{pub}: not a public key file")
    _django(database)
    from iotmark.registry import services

    try:
        key = services.trust_key(pub.read_bytes(), org, trusted=not untrusted)
    except services.RegistryError as exc:
        _fail(str(exc))
    typer.echo(f"key {key.key_id} of {org}: {'trusted' if key.trusted else 'not trusted'}")


@registry_app.command()
def revoke(
    cert_id: str,
    reason: str = typer.Option(..., help="why, in plain language; shown on the public verify page"),
    database: str = typer.Option(None, help="database URL"),
) -> None:
    """Revoke a registered certificate (administrator action on the registry host)."""
    _django(database)
    from iotmark.registry import services

    try:
        services.revoke_certificate(None, cert_id, reason)
    except services.RegistryError as exc:
        _fail(str(exc))
    typer.echo(f"revoked {cert_id}")


# Sub-commands of the other registry apps (typer and stdlib only at import).
from iotmark.registry.enforcement.cli import enforce_app  # noqa: E402
from iotmark.registry.interop.cli import records_app  # noqa: E402
from iotmark.registry.market.cli import vendor_app  # noqa: E402

registry_app.add_typer(vendor_app, name="vendor")
registry_app.add_typer(enforce_app, name="enforce")
registry_app.add_typer(records_app, name="records")

from iotmark.registry.commands import audit_app, publish, token_app  # noqa: E402

registry_app.add_typer(audit_app, name="audit")
registry_app.add_typer(token_app, name="token")
registry_app.command("publish")(publish)
