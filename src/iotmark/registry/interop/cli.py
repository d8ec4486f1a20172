"""`iotmark registry records ...` commands of the interop app. Only typer and the standard library at module level;
Django loads when a command runs (see iotmark.registry.cli._django)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import typer

records_app = typer.Typer(help="Interoperable label records (CTA-2120) and federation.", no_args_is_help=True)

DATABASE_HELP = "database URL (default: IOTMARK_DATABASE_URL or SQLite in IOTMARK_HOME)"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _django(database: str | None) -> None:
    from iotmark.registry.server import setup_django

    setup_django(database)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


@records_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="file to write the record list to (JSON)"),
    base_url: str = typer.Option("", help="this registry's public address, recorded as `registry` in the list"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """Write every currently valid certificate as a CTA-2120 record list, checked against the schema first."""
    _django(database)
    from iotmark.registry.interop import cta2120, exchange

    rows = list(exchange.valid_certificates())
    if len(rows) > cta2120.MAX_RECORDS:
        _fail(f"{len(rows)} valid certificates; a list holds at most {cta2120.MAX_RECORDS}: use GET /api/v1/records")
    document = exchange.record_list(None, 1, max(len(rows), 1), base_url.rstrip("/") or "local")
    try:
        cta2120.validate_list(document)
    except cta2120.RecordError as exc:
        _fail(f"the export does not match the schema, nothing written: {exc}")
    _write_atomically(out, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {len(document['records'])} records to {out}")


@records_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="a record list (JSON) exported by another registry"),
    source: str = typer.Option(..., help="name of the registry the records come from"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """Import another registry's record list: validated, idempotent, audited."""
    from iotmark.inputs import InputError, read_bytes

    try:
        raw = read_bytes(file, max_bytes=8 * 1024 * 1024)
    except InputError as exc:
        _fail(str(exc))
    _django(database)
    from iotmark.registry.interop import cta2120, exchange

    try:
        result = exchange.import_document(source, raw)
    except cta2120.RecordError as exc:
        _fail(f"{file}: {exc}")
    typer.echo(result.summary())


@records_app.command()
def mirror(
    url: str = typer.Argument(..., help="the other registry's address, e.g. https://registry.example"),
    since: str = typer.Option("auto", help="auto (continue from the last run), all, or an ISO 8601 time"),
    insecure: bool = typer.Option(False, "--insecure", help="allow plain http to hosts other than this machine"),
    timeout: float = typer.Option(15.0, min=0.1, max=600, help="seconds to wait for each page"),
    max_pages: int = typer.Option(50, min=1, max=10_000, help="stop with an error beyond this many pages"),
    database: str = typer.Option(None, help=DATABASE_HELP),
) -> None:
    """Fetch another iotmark registry's public records and keep a copy, marked with its origin."""
    _django(database)
    from iotmark.registry.interop import mirror as federation

    try:
        result = federation.mirror(url, since=since, insecure=insecure, timeout=timeout, max_pages=max_pages)
    except federation.MirrorError as exc:
        _fail(str(exc))
    start = result.since.isoformat() if result.since else "the beginning"
    typer.echo(f"{result.pages} page(s) since {start}; {result.imported.summary()}")
