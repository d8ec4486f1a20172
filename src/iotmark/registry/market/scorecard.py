"""A vendor's public scorecard: how much of what they sell is validly certified for its class, how long they
promise security updates, how fast they fix reported vulnerabilities, whether CRA reports went out on time, and
their enforcement record (from iotmark.registry.enforcement.public)."""

from __future__ import annotations

import datetime as dt
from statistics import median

from django.db.models import Max, Min
from django.utils import timezone
from pydantic import BaseModel

from iotmark.registry.market.clocks import report_deadlines
from iotmark.registry.market.models import SevereIncidentReport, VendorProfile, VulnerabilityReport
from iotmark.registry.models import Certificate, FirmwareVersion, Organisation, Product
from iotmark.registry.services import RegistryError

DAYS_PER_YEAR = 365.25


class EnforcementCounts(BaseModel):
    incidents: int
    open_cases: int
    closed_cases: int
    third_party_loss_eur: float


class Scorecard(BaseModel):
    vendor_id: int
    vendor: str
    products: int
    products_certified: int  # with a valid certificate that meets the product's device class
    certified_share: float | None  # None when the vendor has no products
    median_support_years: float | None  # first certificate issued -> latest declared end of updates, per product
    vulnerability_reports: int
    fixed_reports: int
    median_fix_days: float | None  # awareness -> corrective measure available, fixed reports only
    reports_due: int  # CRA reports whose deadline has passed or that were sent
    reports_on_time: int
    on_time_share: float | None
    overdue_reports: int  # past due and not sent
    enforcement: EnforcementCounts | None  # None: the enforcement record could not be read
    disclosure_email: str = ""
    disclosure_url: str = ""
    security_txt_url: str = ""


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def certified_products(org: Organisation, today: dt.date) -> int:
    return (Certificate.objects.filter(firmware__product__vendor=org, meets_class=True, issued__lte=today,
                                       expires__gte=today, revocation__isnull=True)
            .values("firmware__product").distinct().count())


def support_years(org: Organisation) -> list[float]:
    first_issued = dict(Certificate.objects.filter(firmware__product__vendor=org).values("firmware__product")
                        .annotate(first=Min("issued")).values_list("firmware__product", "first"))
    latest_end = dict(FirmwareVersion.objects.filter(product__vendor=org, support_until__isnull=False)
                      .values("product").annotate(end=Max("support_until")).values_list("product", "end"))
    return [max((latest_end[p] - first_issued[p]).days, 0) / DAYS_PER_YEAR for p in first_issued if p in latest_end]


def enforcement_counts(org: Organisation) -> EnforcementCounts | None:
    try:
        from iotmark.registry.enforcement.public import vendor_counts
    except ImportError:  # the enforcement app is not installed in this build
        return None
    return EnforcementCounts.model_validate(vendor_counts(org))


def scorecard(org: Organisation, now: dt.datetime | None = None) -> Scorecard:
    now = now or timezone.now()
    today = now.date()
    products = Product.objects.filter(vendor=org).count()
    certified = certified_products(org, today)
    years = support_years(org)
    vulns = list(VulnerabilityReport.objects.filter(vendor=org))
    fix_days = [(r.fixed - r.received).total_seconds() / 86400 for r in vulns if r.fixed is not None]
    deadlines = [d for r in [*vulns, *SevereIncidentReport.objects.filter(vendor=org)]
                 for d in report_deadlines(r, now)]
    judged = [d for d in deadlines if d.on_time is not None]
    on_time = sum(1 for d in judged if d.on_time)
    profile = VendorProfile.objects.filter(organisation=org).first()
    return Scorecard(
        vendor_id=org.pk, vendor=org.name, products=products, products_certified=certified,
        certified_share=_round(certified / products) if products else None,
        median_support_years=_round(median(years), 1) if years else None,
        vulnerability_reports=len(vulns), fixed_reports=len(fix_days),
        median_fix_days=_round(median(fix_days), 1) if fix_days else None,
        reports_due=len(judged), reports_on_time=on_time, on_time_share=_round(on_time / len(judged)) if judged else None,
        overdue_reports=sum(1 for d in deadlines if d.overdue), enforcement=enforcement_counts(org),
        disclosure_email=profile.disclosure_email if profile else "",
        disclosure_url=profile.disclosure_url if profile else "",
        security_txt_url=profile.security_txt_url if profile else "")


def public_vendor(vendor_id: int) -> Organisation:
    org = Organisation.objects.filter(pk=vendor_id, kind=Organisation.Kind.VENDOR).first()
    if org is None:
        raise RegistryError(404, f"no vendor {vendor_id} in this registry")
    return org
