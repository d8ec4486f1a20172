"""`iotmark registry audit ...`, `iotmark registry token ...` and `iotmark registry publish`. Only typer and the
standard library at module level; Django loads when a command runs."""

from __future__ import annotations

from pathlib import Path

import typer

audit_app = typer.Typer(help="The registry's tamper-evident audit log.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of registry users.", no_args_is_help=True)

DATABASE_HELP = "database URL (default: IOTMARK_DATABASE_URL or SQLite in IOTMARK_HOME)"


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _django(database: str | None) -> None:
    from iotmark.registry.server import setup_django

    setup_django(database)


@audit_app.command("verify")
def audit_verify(
    expect_head: str = typer.Option(None, "--expect-head", help="the head hash printed by an earlier verify; "
                                                                 "detects entries cut off the end"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """Recompute the hash chain; exit 1 naming the first entry that does not verify."""
    _django(database)
    from iotmark.registry import audit

    report = audit.verify_against_head(expect_head) if expect_head else audit.verify()
    if not report.ok:
        where = f"entry #{report.first_bad}" if report.first_bad is not None else "log"
        _fail(f"audit log broken at {where}: {report.reason} ({report.entries} entries verified before it)")
    typer.echo(f"audit log intact: {report.entries} entries; head {report.head}")


@audit_app.command("show")
def audit_show(
    limit: int = typer.Option(20, min=1, max=10000, help="how many of the latest entries"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """Print the latest entries, oldest first."""
    _django(database)
    from iotmark.registry.models import AuditEntry

    rows = list(AuditEntry.objects.order_by("-id")[:limit])
    for row in reversed(rows):
        typer.echo(f"#{row.pk} {row.created:%Y-%m-%d %H:%M:%S} {row.actor} {row.action} "
                   f"{row.object_type}:{row.object_id} {row.hash[:16]}")
    if not rows:
        typer.echo("the audit log is empty")


def _user_named(username: str):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        _fail(f"no user {username!r} (create one with `iotmark registry createuser`)")
    return user


@token_app.command("create")
def token_create(
    username: str = typer.Argument(..., help="the user the token acts as"),
    name: str = typer.Option("", "--name", help="what the token is for, e.g. the lab's upload script"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    _django(database)
    from iotmark.registry import services

    token = services.issue_token(_user_named(username), name[:100], actor="system")
    typer.echo(f"API token for {username} (shown once, keep it secret): {token}")


@token_app.command("list")
def token_list(
    username: str = typer.Argument(..., help="whose tokens"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """List a user's tokens by prefix (the tokens themselves are not stored)."""
    _django(database)
    from iotmark.registry import services

    tokens = services.tokens_of(_user_named(username))
    for token in tokens:
        used = f"last used {token.last_used:%Y-%m-%d %H:%M}" if token.last_used else "never used"
        state = "revoked" if token.revoked else "active"
        typer.echo(f"{token.prefix}  {state:7}  created {token.created:%Y-%m-%d}  {used}  {token.name}")
    if not tokens:
        typer.echo(f"{username} has no API tokens")


@token_app.command("revoke")
def token_revoke(
    prefix: str = typer.Argument(..., help="the token's prefix as `token list` shows it (or the whole token)"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    _django(database)
    from iotmark.registry import services
    from iotmark.registry.models import ApiToken

    prefix = prefix.strip()[:12]
    if len(prefix) < 8:
        _fail("give at least the first 8 characters of the token")
    matches = list(ApiToken.objects.filter(prefix__startswith=prefix)[:2])
    if not matches:
        _fail(f"no token starts with {prefix!r}")
    if len(matches) > 1:
        _fail(f"more than one token starts with {prefix!r}; give more characters")
    try:
        token = services.revoke_token(matches[0], actor="system")
    except services.RegistryError as exc:
        _fail(str(exc))
    typer.echo(f"revoked token {token.prefix}\u2026 of {token.user.get_username()}")


def publish(
    certificate: Path = typer.Argument(..., help="the certificate.json written by `iotmark certify`"),
    assessment: Path = typer.Option(..., "--assessment", help="the assessment.json it was issued for"),
    url: str = typer.Option(..., "--url", envvar="IOTMARK_REGISTRY_URL", help="the registry, e.g. https://registry.example"),
    token: str = typer.Option(..., "--token", envvar="IOTMARK_REGISTRY_TOKEN",
                              help="your lab's API token (or set IOTMARK_REGISTRY_TOKEN)"),
    idempotency_key: str = typer.Option(None, "--idempotency-key",
                                        help="any unique string (up to 100 characters); retrying with the same key "
                                             "after a failure never uploads twice"),
    timeout: float = typer.Option(60, min=1, max=600, help="seconds to wait for the registry"),
    bundle: Path = typer.Option(None, "--bundle", help="also share the evidence bundle the assessment was made from "
                                                       "(its findings then show in the registry's public report)"),
) -> None:
    """Upload a signed certificate and its assessment to a registry; prints the page buyers verify it on."""
    from iotmark.registry.publish import PublishError
    from iotmark.registry.publish import publish as send

    try:
        result = send(url, certificate, assessment, token, idempotency_key, timeout, bundle=bundle)
    except PublishError as exc:
        _fail(str(exc))
    typer.echo(("published " if result.created else "already registered ") + result.cert_id)
    typer.echo(f"verify: {result.verify_url}")
