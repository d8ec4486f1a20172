"""Loss exceedance curves as PNG or SVG with matplotlib (headless backend)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

FORMATS = (".png", ".svg")


def _figure(result: dict[str, Any], limit: int = 12):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    curves = [(s["name"], s["lec"]) for s in result["scenarios"][:limit]]
    if len(result["scenarios"]) > 1:
        curves.append(("portfolio total", result["portfolio"]["lec"]))
    for name, lec in curves:
        if lec:
            ax.plot([p["loss"] for p in lec], [p["exceedance"] for p in lec], label=name)
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"annual loss ({result.get('currency', '')})")
    ax.set_ylabel("probability of exceeding")
    ax.set_title("Loss exceedance curve")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig, plt


def save_lec(result: dict[str, Any], path: Path) -> Path:
    """Write the loss exceedance curves of a run (scenarios and portfolio) to `path` (.png or .svg)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: the plot is written as .png or .svg")
    fig, plt = _figure(result)
    fig.savefig(path)
    plt.close(fig)
    return path


def lec_svg(result: dict[str, Any]) -> str:
    """The loss exceedance chart as inline SVG text (for the HTML report)."""
    fig, plt = _figure(result)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.find("<svg"):]
