"""The registry-facts document about one vendor (format iotmark-registry-facts/1), which programme/ reads.
Incidents and cases come from the enforcement app's public contract (iotmark.registry.enforcement.public)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.utils import timezone

from iotmark.registry.market.clocks import report_deadlines
from iotmark.registry.market.compare import verdicts_of
from iotmark.registry.market.models import VulnerabilityReport
from iotmark.registry.models import Certificate, Organisation, Product

FORMAT = "iotmark-registry-facts/1"
SEVERITIES = ("critical", "high", "medium", "low")


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def certificate_state(cert: Certificate, today: dt.date) -> str:
    """valid | expired | revoked | unknown (not in effect yet), the verify page's rules."""
    if getattr(cert, "revocation", None) is not None:
        return "revoked"
    if today < cert.issued:
        return "unknown"
    return "expired" if today > cert.expires else "valid"


def open_findings(assessment_json: str) -> dict[str, int]:
    try:
        counts = json.loads(assessment_json).get("risk", {}).get("failed_findings_by_severity", {})
        return {s: int(counts.get(s, 0)) for s in SEVERITIES}
    except (ValueError, TypeError, AttributeError):
        return {s: 0 for s in SEVERITIES}


def _certificate(cert: Certificate, today: dt.date) -> dict[str, Any] | None:
    state = certificate_state(cert, today)
    if state == "unknown":  # not in effect yet: the format has no such status
        return None
    failed = sorted((p for p, v in verdicts_of(cert.assessment).items() if v == "FAIL"), key=_provision_order)
    return {"id": cert.cert_id, "firmware_version": cert.firmware.version, "level": cert.level,
            "meets_class": cert.meets_class, "issued": iso(cert.issued), "expires": iso(cert.expires), "status": state,
            "failed_provisions": failed, "open_findings": open_findings(cert.assessment)}


def _provision_order(provision: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in provision.replace("-", ".").split("."))


def products_of(org: Organisation, today: dt.date) -> list[dict[str, Any]]:
    from iotmark.catalog.loader import load_device_classes

    classes = load_device_classes()
    certs_of: dict[int, list[Certificate]] = {}
    for cert in (Certificate.objects.filter(firmware__product__vendor=org).select_related("firmware", "revocation")
                 .defer("document").order_by("issued", "cert_id")):
        certs_of.setdefault(cert.firmware.product_id, []).append(cert)
    out = []
    for product in Product.objects.filter(vendor=org).prefetch_related("firmware_versions").order_by("model"):
        certs = certs_of.get(product.pk, [])
        cls = classes.get(product.device_class)
        out.append({"model": product.model, "device_class": product.device_class,
                    "required_level": cls.minimum_level if cls else 0,
                    "firmware": [{"version": f.version, "support_until": iso(f.support_until)}
                                 for f in sorted(product.firmware_versions.all(), key=lambda f: f.pk)],
                    "certificates": [c for c in (_certificate(cert, today) for cert in certs) if c is not None]})
    return out


def vulnerability_reports_of(org: Organisation, now: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for report in VulnerabilityReport.objects.filter(vendor=org).select_related("product").order_by("received", "pk"):
        out.append({"id": f"vulnerability-{report.pk}", "product": report.product.model, "severity": report.severity,
                    "cve": report.cve_id or None, "actively_exploited": report.actively_exploited,
                    "received": iso(report.received), "fixed": iso(report.fixed),
                    "deadlines": [{"report": d.report, "due": iso(d.due), "sent": iso(d.sent), "on_time": d.on_time}
                                  for d in report_deadlines(report, now) if d.due is not None]})
    return out


def vendor_facts(org: Organisation, now: dt.datetime | None = None) -> dict[str, Any]:
    """The whole document for one vendor organisation."""
    from iotmark.registry.enforcement import public

    now = now or timezone.now()
    return {"format": FORMAT, "vendor": org.name, "generated": iso(now.replace(microsecond=0)),
            "products": products_of(org, now.date()), "vulnerability_reports": vulnerability_reports_of(org, now),
            "incidents": public.vendor_incidents(org), "cases": public.vendor_cases(org)}
