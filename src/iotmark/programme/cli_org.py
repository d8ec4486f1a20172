"""`iotmark programme` commands for maturity, KPIs, champions, training and external validation."""

from __future__ import annotations

from iotmark.programme.cli import programme_app  # noqa: F401
