"""EU CRA Art. 14 reporting clocks of the market app's reports, computed by mitigate's own CRA rules
(iotmark.mitigate.incidents.deadlines, data/cra-reporting.yaml) so the registry and the incident tool agree.

Actively exploited vulnerability: early warning 24 h and notification 72 h after awareness, final report 14 days
after a corrective measure is available. Severe incident: 24 h, 72 h, final report one month after the
notification. A vulnerability that is not actively exploited has no Art. 14 clock."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from iotmark.registry.market.models import CraClock, SevereIncidentReport, VulnerabilityReport

# mitigate's stage names -> the registry-facts names and the model fields holding when each report was sent
STAGES = {"early-warning": ("early_warning", "early_warning_sent"),
          "notification": ("notification", "notification_sent"),
          "final": ("final_report", "final_report_sent")}
STAGE_LABELS = {"early_warning": "Early warning", "notification": "Notification", "final_report": "Final report"}


class ReportDeadline(BaseModel):
    report: Literal["early_warning", "notification", "final_report"]
    due: dt.datetime | None  # None while it cannot be known yet (no fix yet, or no notification yet)
    sent: dt.datetime | None
    on_time: bool | None  # None while not due yet and nothing sent
    overdue: bool  # past due and nothing sent
    basis: str
    article: str


def category(report: CraClock) -> str | None:
    if isinstance(report, SevereIncidentReport):
        return "severe_incident"
    if isinstance(report, VulnerabilityReport) and report.actively_exploited:
        return "actively_exploited_vulnerability"
    return None


def report_deadlines(report: CraClock, now: dt.datetime | None = None) -> list[ReportDeadline]:
    """The three reports with due times and whether each was sent on time; empty when no clock applies."""
    from iotmark.mitigate.incidents import Incident, ReportRecord, deadlines, now_utc

    kind = category(report)
    if kind is None:
        return []
    sent = [ReportRecord(stage=stage, at=getattr(report, field)) for stage, (_, field) in STAGES.items()
            if getattr(report, field) is not None]
    clock = Incident(id="INC-00000000-000000", title=report.title or "report", playbook="registry",
                     cra_category=kind, opened_at=report.received, aware_at=report.received,
                     corrective_measure_at=report.fixed, tasks=[], timeline=[], reports=sent)
    now = now or now_utc()
    out = []
    for d in deadlines(clock, now):
        name = STAGES[d.stage][0]
        if d.submitted_at is not None:
            on_time = d.due is None or d.submitted_at <= d.due
        else:
            on_time = False if d.overdue else None
        out.append(ReportDeadline(report=name, due=d.due, sent=d.submitted_at, on_time=on_time, overdue=d.overdue,
                                  basis=d.basis, article=d.article))
    return out


class OverdueReport(BaseModel):
    vendor_id: int
    vendor: str
    product: str
    kind: Literal["vulnerability", "incident"]
    report_id: int
    title: str
    received: dt.datetime
    missing: list[Literal["early_warning", "notification", "final_report"]]
    due: list[dt.datetime]


def overdue_reports(now: dt.datetime | None = None) -> list[OverdueReport]:
    """Every report, of every vendor, with a CRA deadline passed and the report not sent; oldest first."""
    from django.db.models import Q

    from iotmark.mitigate.incidents import now_utc

    now = now or now_utc()
    unsent = Q(early_warning_sent__isnull=True) | Q(notification_sent__isnull=True) | Q(final_report_sent__isnull=True)
    candidates = [("vulnerability", r) for r in VulnerabilityReport.objects.filter(unsent, actively_exploited=True)
                  .select_related("vendor", "product")]
    candidates += [("incident", r) for r in SevereIncidentReport.objects.filter(unsent)
                   .select_related("vendor", "product")]
    out = []
    for kind, report in candidates:
        late = [d for d in report_deadlines(report, now) if d.overdue]
        if late:
            out.append(OverdueReport(vendor_id=report.vendor_id, vendor=report.vendor.name, product=report.product.model,
                                     kind=kind, report_id=report.pk, title=report.title, received=report.received,
                                     missing=[d.report for d in late], due=[d.due for d in late]))
    return sorted(out, key=lambda r: (r.received, r.kind, r.report_id))
