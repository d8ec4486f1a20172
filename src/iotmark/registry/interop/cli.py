"""`iotmark registry ...` commands of the interop app. Only typer and the standard library at module level; Django
loads when a command runs (see iotmark.registry.cli._django)."""

from __future__ import annotations

import typer

records_app = typer.Typer(help="Interoperable label records (CTA-2120) and federation.", no_args_is_help=True)
