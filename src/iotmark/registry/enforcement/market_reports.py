"""Missed CRA Art. 14 reporting deadlines in the vulnerability and severe-incident reports the market app keeps.

The deadlines are computed by mitigate's own CRA rules (iotmark.mitigate.incidents.deadlines), so the registry and
the incident tool agree on when a report was due. Only actively exploited vulnerabilities carry Art. 14 duties.
"""

from __future__ import annotations

import datetime as dt

from iotmark.registry.models import Product

STAGE_FIELDS = {"early-warning": "early_warning_sent", "notification": "notification_sent",
                "final": "final_report_sent"}


def _missed(report, category: str, now: dt.datetime) -> list[str]:
    from iotmark.mitigate.incidents import Incident, ReportRecord, deadlines

    sent = [ReportRecord(stage=stage, at=getattr(report, field)) for stage, field in STAGE_FIELDS.items()
            if getattr(report, field) is not None]
    clock = Incident(id="INC-00000000-000000", title=report.title or "report", playbook="registry",
                     cra_category=category, opened_at=report.received, aware_at=report.received,
                     corrective_measure_at=report.fixed, tasks=[], timeline=[], reports=sent)
    return [d.stage for d in deadlines(clock, now) if d.overdue]


def overdue_reports(product: Product, now: dt.datetime) -> list[tuple[str, str]]:
    """(report id, plain label) for each of the product's reports with a deadline passed and nothing sent."""
    from iotmark.registry.market.models import SevereIncidentReport, VulnerabilityReport

    found = []
    for report in VulnerabilityReport.objects.filter(product=product, actively_exploited=True).order_by("received"):
        missed = _missed(report, "actively_exploited_vulnerability", now)
        if missed:
            found.append((f"vulnerability-{report.pk}", f"Vulnerability report \"{report.title}\" "
                                                         f"(received {report.received:%Y-%m-%d}): "
                                                         f"{', '.join(missed)} not sent on time"))
    for report in SevereIncidentReport.objects.filter(product=product).order_by("received"):
        missed = _missed(report, "severe_incident", now)
        if missed:
            found.append((f"incident-{report.pk}", f"Severe incident report \"{report.title}\" "
                                                   f"(aware {report.received:%Y-%m-%d}): "
                                                   f"{', '.join(missed)} not sent on time"))
    return found
