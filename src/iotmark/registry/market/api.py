"""JSON API of the market app: a django-ninja Router mounted at /api/v1/ by iotmark.registry.api."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from iotmark.registry.market import search as product_search
from iotmark.registry.market.compare import ComparedProduct
from iotmark.registry.market import vendor_records
from iotmark.registry.market.clocks import OverdueReport, ReportDeadline, overdue_reports, report_deadlines
from iotmark.registry.market.compare import compare as compare_products
from iotmark.registry.market.scorecard import Scorecard, public_vendor, scorecard
from iotmark.registry.market.vendor_records import FirmwareIn, IncidentIn, ProductIn, ProfileIn, VulnerabilityIn
from iotmark.registry.services import RegistryError

router = Router(tags=["market"])

from iotmark.registry.api import TokenAuth  # noqa: E402 - after `router`: iotmark.registry.api imports this module


class ErrorOut(Schema):
    detail: str


class ListingOut(Schema):
    id: str
    vendor_id: int
    vendor: str
    model: str
    firmware_version: str
    device_class: str
    level: int
    level_name: str
    meets_class: bool
    issued: dt.date
    expires: dt.date
    support_until: dt.date | None
    status: Literal["valid", "expired", "revoked", "unknown"]


class ProductPage(Schema):
    total: int
    page: int
    page_size: int
    pages: int
    results: list[ListingOut]


def listing_out(row, today: dt.date) -> ListingOut:
    return ListingOut(id=row.cert_id, vendor_id=row.vendor_id, vendor=row.vendor_name, model=row.model,
                      firmware_version=row.firmware_version, device_class=row.device_class, level=row.level,
                      level_name=row.level_name, meets_class=row.meets_class, issued=row.issued, expires=row.expires,
                      support_until=row.support_until, status=product_search.listing_status(row, today))


@router.get("/products", auth=None, url_name="market-api-products", response={200: ProductPage, 400: ErrorOut},
            summary="Search certified products (filters as on the /products page)")
def products(request: HttpRequest, q: str = "", vendor: str = "", device_class: str = "", min_level: str = "",
             updates_until: str = "", status: str = "", sort: str = "level", page: str = "1", page_size: str = "20"):
    # Parameters are declared as text and checked by search.parse_filters, so bad values give the same one-line
    # 400 as the web page rather than ninja's validation list.
    filters = product_search.parse_filters(request.GET)
    total, rows = product_search.search(filters)
    today = dt.date.today()
    return ProductPage(total=total, page=filters.page, page_size=filters.page_size,
                       pages=-(-total // filters.page_size), results=[listing_out(r, today) for r in rows])


@router.get("/compare", auth=None, url_name="market-api-compare", response={200: list[ComparedProduct], 400: ErrorOut, 404: ErrorOut},
            summary="Compare 2-4 certified products side by side (c=<certificate id>, repeated)")
def compare(request: HttpRequest, c: Query[list[str]] = None):
    return compare_products(request.GET.getlist("c"))


class ProductOut(Schema):
    id: int
    model: str
    device_class: str
    firmware: list[dict]


class ReportOut(Schema):
    id: int
    kind: Literal["vulnerability", "incident"]
    product_id: int
    product: str
    title: str
    received: dt.datetime
    fixed: dt.datetime | None
    early_warning_sent: dt.datetime | None
    notification_sent: dt.datetime | None
    final_report_sent: dt.datetime | None
    severity: str | None = None
    cve_id: str | None = None
    actively_exploited: bool | None = None
    deadlines: list[ReportDeadline]


def _vendor(request: HttpRequest):
    return vendor_records.vendor_of(request.auth)


def product_out(product) -> ProductOut:
    return ProductOut(id=product.pk, model=product.model, device_class=product.device_class,
                      firmware=[{"version": f.version, "support_until": f.support_until}
                                for f in product.firmware_versions.order_by("pk")])


def report_out(kind: str, report) -> ReportOut:
    extra = ({"severity": report.severity, "cve_id": report.cve_id or None,
              "actively_exploited": report.actively_exploited} if kind == "vulnerability" else {})
    return ReportOut(id=report.pk, kind=kind, product_id=report.product_id, product=report.product.model,
                     title=report.title, received=report.received, fixed=report.fixed,
                     early_warning_sent=report.early_warning_sent, notification_sent=report.notification_sent,
                     final_report_sent=report.final_report_sent, deadlines=report_deadlines(report), **extra)


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@router.get("/vendors/{vendor_id}/scorecard", auth=None, url_name="market-api-scorecard",
            response={200: Scorecard, 404: ErrorOut}, summary="A vendor's public scorecard")
def vendor_scorecard(request: HttpRequest, vendor_id: int):
    return scorecard(public_vendor(vendor_id))


@router.get("/vendor/profile", auth=TokenAuth(), url_name="market-api-profile", response={200: ProfileIn, **ERRORS},
            summary="Your organisation's security contact (vendor members)")
def profile(request: HttpRequest):
    p = vendor_records.profile_of(_vendor(request))
    return ProfileIn(disclosure_email=p.disclosure_email, disclosure_url=p.disclosure_url,
                     security_txt_url=p.security_txt_url)


@router.put("/vendor/profile", auth=TokenAuth(), url_name="market-api-profile-update",
            response={200: ProfileIn, **ERRORS}, summary="Set your security contact (vendor members)")
def update_profile(request: HttpRequest, body: ProfileIn):
    vendor_records.update_profile(request.auth, body.model_dump())
    return profile(request)


@router.get("/vendor/products", auth=TokenAuth(), url_name="market-api-vendor-products",
            response={200: list[ProductOut], **ERRORS}, summary="Your organisation's products (vendor members)")
def vendor_products(request: HttpRequest):
    from iotmark.registry.models import Product

    return [product_out(p) for p in Product.objects.filter(vendor=_vendor(request)).order_by("model")]


@router.post("/vendor/products", auth=TokenAuth(), url_name="market-api-product-add",
             response={201: ProductOut, **ERRORS}, summary="Add a product (vendor members)")
def add_product(request: HttpRequest, body: ProductIn):
    return Status(201, product_out(vendor_records.add_product(request.auth, body.model_dump())))


class DeviceClassIn(Schema):
    device_class: str


@router.put("/vendor/products/{product_id}/device-class", auth=TokenAuth(), url_name="market-api-product-class",
            response={200: ProductOut, **ERRORS}, summary="Change a product's device class (vendor members)")
def set_device_class(request: HttpRequest, product_id: int, body: DeviceClassIn):
    return product_out(vendor_records.set_device_class(request.auth, product_id, body.device_class))


@router.post("/vendor/products/{product_id}/firmware", auth=TokenAuth(), url_name="market-api-firmware",
             response={200: ProductOut, **ERRORS},
             summary="Add a firmware version or change its end of security updates (vendor members)")
def set_firmware(request: HttpRequest, product_id: int, body: FirmwareIn):
    firmware = vendor_records.set_firmware(request.auth, product_id, body.model_dump())
    return product_out(firmware.product)


@router.get("/vendor/reports", auth=TokenAuth(), url_name="market-api-reports",
            response={200: list[ReportOut], **ERRORS},
            summary="Your vulnerability and severe-incident reports with CRA deadlines (vendor members)")
def reports(request: HttpRequest):
    org = _vendor(request)
    out = [report_out(kind, r) for kind, (model, _) in vendor_records.REPORT_KINDS.items()
           for r in model.objects.filter(vendor=org).select_related("product")]
    return sorted(out, key=lambda r: (r.received, r.kind, r.id))


@router.post("/vendor/vulnerabilities", auth=TokenAuth(), url_name="market-api-vulnerability-add",
             response={201: ReportOut, **ERRORS}, summary="Record a vulnerability report (vendor members)")
def add_vulnerability(request: HttpRequest, body: VulnerabilityIn):
    return Status(201, report_out("vulnerability", vendor_records.save_report(request.auth, "vulnerability",
                                                                               body.model_dump())))


@router.put("/vendor/vulnerabilities/{report_id}", auth=TokenAuth(), url_name="market-api-vulnerability",
            response={200: ReportOut, **ERRORS}, summary="Update a vulnerability report (vendor members)")
def update_vulnerability(request: HttpRequest, report_id: int, body: VulnerabilityIn):
    return report_out("vulnerability", vendor_records.save_report(request.auth, "vulnerability", body.model_dump(),
                                                                  report_id))


@router.post("/vendor/incidents", auth=TokenAuth(), url_name="market-api-incident-add",
             response={201: ReportOut, **ERRORS}, summary="Record a severe incident (vendor members)")
def add_incident(request: HttpRequest, body: IncidentIn):
    return Status(201, report_out("incident", vendor_records.save_report(request.auth, "incident",
                                                                          body.model_dump())))


@router.put("/vendor/incidents/{report_id}", auth=TokenAuth(), url_name="market-api-incident",
            response={200: ReportOut, **ERRORS}, summary="Update a severe incident report (vendor members)")
def update_incident(request: HttpRequest, report_id: int, body: IncidentIn):
    return report_out("incident", vendor_records.save_report(request.auth, "incident", body.model_dump(), report_id))


@router.get("/reports/overdue", auth=TokenAuth(), url_name="market-api-overdue",
            response={200: list[OverdueReport], **ERRORS},
            summary="CRA reports past their deadline and not sent, all vendors (regulators)")
def overdue(request: HttpRequest):
    from iotmark.registry.services import role_of

    member = role_of(request.auth)
    if member is None or member.role != "regulator":
        raise RegistryError(403, "only regulators can list overdue reports")
    return overdue_reports()
