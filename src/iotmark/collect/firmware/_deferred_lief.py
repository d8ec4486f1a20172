"""A stand-in for the `lief` module inside the extraction worker, loaded for real only when used."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _DeferredLief(types.ModuleType):
    """Stands in for `lief` until an ELF chunk actually needs it.

    unblob's ELF handler imports lief (over a second to load) and calls `lief.logging.disable()` at import
    time, yet most images have no top-level ELF chunk; the real module is loaded on first other use.
    """

    def __init__(self) -> None:
        super().__init__("lief")
        self._real: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        if self._real is None:
            del sys.modules["lief"]
            self._real = importlib.import_module("lief")
            self._real.logging.disable()
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name == "logging" and self._real is None:
            return types.SimpleNamespace(disable=lambda: None)
        return getattr(self._load(), name)


def defer_lief() -> None:
    """Install the stand-in unless lief is already loaded or not installed."""
    if "lief" not in sys.modules and importlib.util.find_spec("lief") is not None:
        sys.modules["lief"] = _DeferredLief()
