"""`iotmark registry ...` commands of the market app. Only typer and the standard library at module level; Django
loads when a command runs (see iotmark.registry.cli._django)."""

from __future__ import annotations

import typer

vendor_app = typer.Typer(help="Vendors' products, support periods and vulnerability reports.", no_args_is_help=True)
