"""`iotmark registry ...` commands of the enforcement app. Only typer and the standard library at module level; Django
loads when a command runs (see iotmark.registry.cli._django)."""

from __future__ import annotations

import typer

enforce_app = typer.Typer(help="Regulators' non-compliance cases and attributed incidents.", no_args_is_help=True)
