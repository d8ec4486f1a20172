"""HTML report: one self-contained, printable page (inline CSS, no external assets) from a Jinja2 template.

Finding titles, banners and excerpts come from firmware and network replies, so autoescaping is always on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2

from iotmark.model import SEVERITY_ORDER, Assessment, Bundle, Certificate, Finding, Verdict
from iotmark.report import facts

TEMPLATE = "report.html.j2"


@dataclass
class FindingView:
    anchor: str
    finding: Finding
    location: str | None
    endpoint: str | None


@dataclass
class VerdictView:
    verdict: Verdict
    links: list[tuple[str, str | None]]  # (finding key, anchor or None when the key is not in the bundle)


@dataclass
class SeverityGroup:
    severity: str
    items: list[FindingView] = field(default_factory=list)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("iotmark.report", "templates"),
        autoescape=True,  # every template, whatever its file name: findings carry hostile strings
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _risk_rows(risk: dict) -> list[tuple[str, str, bool]]:
    """(key, value text, is_structured) for the risk summary; nested values shown as indented JSON."""
    rows = []
    for key, value in risk.items():
        if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
            # a flat group (e.g. the FAIR price) reads best as one row per figure
            rows += [(f"{key}: {sub}", f"{v:,.2f}" if isinstance(v, float) else str(v), False)
                     for sub, v in value.items()]
        elif isinstance(value, (dict, list)):
            rows.append((str(key), json.dumps(value, indent=2, ensure_ascii=False, default=str), True))
        else:
            rows.append((str(key), str(value), False))
    return rows


def _safe_link(url: str) -> str | None:
    """Only http(s) URLs become links; anything else (javascript:, data:) is shown as text."""
    return url if url.lower().startswith(("https://", "http://")) else None


def context(bundle: Bundle, assessment: Assessment | None = None, certificate: Certificate | None = None) -> dict:
    """Everything the template shows, computed once in Python so the template only lays it out."""
    views = [
        FindingView(f"finding-{i}", f, facts.location(f.evidence), facts.endpoint(f.evidence))
        for i, f in enumerate(bundle.findings, start=1)
    ]
    anchor_of: dict[str, str] = {}
    for view in views:
        anchor_of.setdefault(view.finding.key, view.anchor)

    groups = {sev: SeverityGroup(sev) for sev in sorted(SEVERITY_ORDER, key=lambda s: -SEVERITY_ORDER[s])}
    for view in views:
        if view.finding.outcome == "fail":
            groups[view.finding.severity].items.append(view)
    outcome_counts = {o: sum(1 for f in bundle.findings if f.outcome == o) for o in ("fail", "not_tested", "error", "pass")}

    verdicts = []
    max_level = None
    if assessment is not None:
        verdicts = [VerdictView(v, [(k, anchor_of.get(k)) for k in v.findings]) for v in assessment.verdicts]
        if assessment.levels:
            max_level = max(level.level for level in assessment.levels)

    return {
        "bundle": bundle,
        "target": bundle.target,
        "assessment": assessment,
        "certificate": certificate,
        "verify_link": _safe_link(certificate.verify_url) if certificate else None,
        "counts": assessment.counts() if assessment else None,
        "max_level": max_level,
        "verdicts": verdicts,
        "failed_groups": [g for g in groups.values() if g.items],
        "open_items": [v for v in views if v.finding.outcome in ("not_tested", "error")],
        "passed": [v for v in views if v.finding.outcome == "pass"],
        "outcome_counts": outcome_counts,
        "risk_rows": _risk_rows(assessment.risk) if assessment else [],
        "generated_at": facts.document_time(bundle, assessment),
        "bundle_digest": bundle.digest(),
        "tool": {"name": facts.TOOL_NAME, "version": facts.tool_version()},
    }


def render_html(bundle: Bundle, assessment: Assessment | None = None, certificate: Certificate | None = None) -> str:
    """The report as one HTML document (str)."""
    return _environment().get_template(TEMPLATE).render(**context(bundle, assessment, certificate))


def write(out: Path, bundle: Bundle, assessment: Assessment | None, certificate: Certificate | None) -> None:
    out.write_text(render_html(bundle, assessment, certificate), encoding="utf-8")
