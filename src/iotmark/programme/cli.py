"""`iotmark programme ...`: the organisation's security programme. Commands live in cli_org (maturity, KPIs,
champions, training, external tests) and cli_design (threat models, board report); both register on
`programme_app`. Only typer and the standard library at module level, so `iotmark --version` stays fast."""

from __future__ import annotations

import typer

programme_app = typer.Typer(help="The organisation's security programme: maturity, KPIs, champions, training, "
                                 "external tests, threat models, board report.", no_args_is_help=True)

from iotmark.programme import cli_design, cli_org  # noqa: E402,F401 - they register their commands
