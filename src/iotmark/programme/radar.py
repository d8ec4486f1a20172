"""Radar chart of practice scores (0-3), one polygon per assessment, written as PNG and SVG."""

from __future__ import annotations

import math
from pathlib import Path

from iotmark.programme.results import MaturityScore


def save_radar(scores: list[MaturityScore], path: Path, title: str = "") -> list[Path]:
    """Draw the practices of `scores` (same model) on one radar; writes PATH as .png and .svg, returns both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not scores:
        raise ValueError("no assessments to draw")
    labels = [p.practice for p in scores[0].practices]
    angles = [2 * math.pi * i / len(labels) for i in range(len(labels))]
    fig, ax = plt.subplots(figsize=(7, 7), subplot_kw={"polar": True})
    try:
        ax.set_theta_offset(math.pi / 2)
        ax.set_theta_direction(-1)
        ax.set_xticks(angles)
        ax.set_xticklabels(labels, fontsize=9)
        ax.set_ylim(0, 3)
        ax.set_yticks([1, 2, 3])
        ax.set_yticklabels(["1", "2", "3"], fontsize=8)
        target = [p.target if p.target is not None else 0 for p in scores[0].practices]
        ax.plot(angles + angles[:1], target + target[:1], linestyle="--", color="grey", linewidth=1, label="target")
        for score in scores:
            by_id = {p.practice: p.score for p in score.practices}
            values = [by_id.get(label, 0.0) for label in labels]
            ax.plot(angles + angles[:1], values + values[:1], linewidth=2,
                    label=f"{score.unit} {score.date.isoformat()} ({score.overall:.2f})")
            ax.fill(angles + angles[:1], values + values[:1], alpha=0.12)
        ax.set_title(title or f"{scores[0].model} maturity", pad=20)
        ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.12), fontsize=8)
        path = Path(path)
        written = []
        for suffix in (".png", ".svg"):
            out = path.with_suffix(suffix)
            fig.savefig(out, dpi=110 if suffix == ".png" else None, bbox_inches="tight")
            written.append(out)
        return written
    finally:
        plt.close(fig)
