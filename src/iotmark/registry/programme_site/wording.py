"""Plain-language wording for the programme pages, read from data/plain-language.yaml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

WORDING_FILE = Path(__file__).parent / "data" / "plain-language.yaml"


@lru_cache(maxsize=1)
def wording() -> dict[str, dict[str, str]]:
    return yaml.safe_load(WORDING_FILE.read_text(encoding="utf-8"))


def say(group: str, key: str | None) -> str:
    """The plain words for `key` in `group`, or the key itself when none are written."""
    return wording().get(group, {}).get(key or "", key or "")
