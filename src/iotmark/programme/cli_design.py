"""`iotmark programme` commands for threat models and the board report, and the `iotmark gate` release gate."""

from __future__ import annotations

from iotmark.programme.cli import programme_app  # noqa: F401
