"""What the public may know about a vendor's enforcement record; read-only, also used by the market app and the
registry-facts export.

Publication rule: a closed case is published in full (grounds with their details, outcome, fine, reasons, dates).
An open case is published only as its opening date and the kinds of its grounds: before an outcome the vendor has
not been found at fault, so the details and the vendor's answer stay between the regulator and the vendor.
Incidents are published with the product model, device count and the estimated loss to third parties.
"""

from __future__ import annotations

from typing import Any

from iotmark.registry.enforcement.models import Attribution, Case
from iotmark.registry.models import Organisation

PUBLICATION_RULE = ("Closed cases are shown in full. Open cases show only when they were opened and what kind of "
                    "problem they concern: until the regulator decides, the maker has not been found at fault, so "
                    "the details and the maker's answer are not published.")


def _cases(org: Organisation):
    return (Case.objects.filter(product__vendor=org).select_related("product", "regulator")
            .prefetch_related("grounds__certificate", "grounds__firmware").order_by("opened", "id"))


def _attributions(org: Organisation):
    return (Attribution.objects.filter(product__vendor=org).select_related("incident", "product")
            .order_by("incident__opened_at", "id"))


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def vendor_counts(org: Organisation) -> dict[str, Any]:
    """incidents, open_cases, closed_cases, third_party_loss_eur (sum of the mean FAIR estimates)."""
    attributions = list(_attributions(org).values_list("incident_id", "loss_mean", "currency"))
    cases = Case.objects.filter(product__vendor=org)
    closed = cases.filter(stage=Case.Stage.CLOSED).count()
    return {"incidents": len({a[0] for a in attributions}), "open_cases": cases.count() - closed,
            "closed_cases": closed,
            "third_party_loss_eur": float(sum(a[1] for a in attributions if a[2] == "EUR"))}


def vendor_incidents(org: Organisation) -> list[dict[str, Any]]:
    """One entry per incident and product model, in the registry-facts format."""
    return [{"id": a.incident.incident_id, "product": a.product.model, "opened": _iso(a.incident.opened_at),
             "third_party_loss_eur": float(a.loss_mean)} for a in _attributions(org)]


def vendor_cases(org: Organisation) -> list[dict[str, Any]]:
    """One entry per case in the registry-facts format: grounds are their kinds; outcome only once closed."""
    return [{"id": str(c.pk), "product": c.product.model, "opened": _iso(c.opened),
             "status": "closed" if c.is_closed else "open", "grounds": [g.kind for g in c.grounds.all()],
             "outcome": c.outcome if c.is_closed else None} for c in _cases(org)]


def _ground_public(ground) -> dict[str, Any]:
    return {"kind": ground.kind, "description": ground.get_kind_display(), "provision": ground.provision or None,
            "certificate": ground.certificate.cert_id if ground.certificate else None,
            "firmware_version": ground.firmware.version if ground.firmware else None,
            "report": ground.report_ref or None, "detail": ground.detail or None}


def vendor_record(org: Organisation) -> dict[str, Any]:
    """The public record page's content: counts, cases (closed in full, open in brief) and incidents."""
    cases = []
    for case in _cases(org):
        grounds = list(case.grounds.all())
        entry: dict[str, Any] = {"id": case.pk, "product": case.product.model, "opened": case.opened.date(),
                                 "status": "closed" if case.is_closed else "open",
                                 "ground_kinds": sorted({g.get_kind_display() for g in grounds})}
        if case.is_closed:
            entry.update({"regulator": case.regulator.name, "summary": case.summary,
                          "grounds": [_ground_public(g) for g in grounds], "outcome": case.outcome,
                          "outcome_label": case.get_outcome_display(),
                          "fine_amount": float(case.fine_amount) if case.fine_amount is not None else None,
                          "fine_currency": case.fine_currency or None, "reasons": case.outcome_reasons,
                          "decided": case.decided.date() if case.decided else None,
                          "closed": case.closed.date() if case.closed else None,
                          "vendor_response": case.response or None})
        cases.append(entry)
    incidents = [{"id": a.incident.incident_id, "title": a.incident.title, "product": a.product.model,
                  "opened": a.incident.opened_at.date(), "devices": a.devices, "loss_mean": a.loss_mean,
                  "loss_p90": a.loss_p90, "currency": a.currency, "model_title": a.estimate.get("model_title", "")}
                 for a in _attributions(org)]
    return {"vendor": org.name, "vendor_id": org.pk, "counts": vendor_counts(org), "publication_rule": PUBLICATION_RULE,
            "cases": cases, "incidents": incidents}
