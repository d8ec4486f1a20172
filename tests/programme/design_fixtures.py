"""Shared helpers for the design-side programme tests (threat models, release gate, board report)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MODEL = REPO / "examples" / "threat-models" / "smart-plug.yaml"
SAMPLE_DECLARATION = REPO / "examples" / "sample-device" / "declaration.yaml"
IOTMARK = [sys.executable, "-m", "iotmark.cli"]


def run_iotmark(*args: str | Path, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command line in a subprocess (so exit codes and stderr are what a CI job sees)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*IOTMARK, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The command failed with `code` and said why in one line, without a traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]
