"""Vendor members' own pages: profile, products, firmware support periods and reports with CRA deadlines.
Each view checks the role server-side; another organisation's objects are 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iotmark.registry.market import forms, vendor_records
from iotmark.registry.market.clocks import STAGE_LABELS, report_deadlines
from iotmark.registry.market.views import error_page
from iotmark.registry.models import Product
from iotmark.registry.services import RegistryError

LOGIN = "login"
FORMS = {"vulnerability": forms.VulnerabilityForm, "incident": forms.IncidentForm}


def _save_or_show(request: HttpRequest, form, save, template: str, context: dict) -> HttpResponse:
    """Run `save(cleaned_data)` for a valid form and go back to /vendor; otherwise show the form with errors."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
            return redirect("market-vendor-home")
        except RegistryError as exc:
            if exc.status == 404:
                return error_page(request, exc)
            form.add_error(None, str(exc))
    status = 400 if request.method == "POST" else 200
    return render(request, template, {"form": form, **context}, status=status)


@login_required(login_url=LOGIN)
def home(request: HttpRequest) -> HttpResponse:
    try:
        org = vendor_records.vendor_of(request.user)
    except RegistryError as exc:
        return error_page(request, exc)
    products = Product.objects.filter(vendor=org).prefetch_related("firmware_versions").order_by("model")
    reports = []
    for kind, (model, _) in vendor_records.REPORT_KINDS.items():
        for report in model.objects.filter(vendor=org).select_related("product").order_by("-received"):
            reports.append({"kind": kind, "report": report, "deadlines": report_deadlines(report)})
    return render(request, "market/vendor_home.html", {
        "org": org, "profile": vendor_records.profile_of(org), "products": products, "reports": reports,
        "labels": STAGE_LABELS})


@login_required(login_url=LOGIN)
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    try:
        org = vendor_records.vendor_of(request.user)
    except RegistryError as exc:
        return error_page(request, exc)
    current = vendor_records.profile_of(org)
    initial = {"disclosure_email": current.disclosure_email, "disclosure_url": current.disclosure_url,
               "security_txt_url": current.security_txt_url}
    form = forms.ProfileForm(request.POST if request.method == "POST" else None, initial=initial)
    return _save_or_show(request, form, lambda data: vendor_records.update_profile(request.user, data),
                         "market/vendor_form.html", {"title": "Security contact"})


@login_required(login_url=LOGIN)
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    try:
        vendor_records.vendor_of(request.user)
    except RegistryError as exc:
        return error_page(request, exc)
    form = forms.ProductForm(request.POST if request.method == "POST" else None)
    return _save_or_show(request, form, lambda data: vendor_records.add_product(request.user, data),
                         "market/vendor_form.html", {"title": "Add a product"})


@login_required(login_url=LOGIN)
@require_http_methods(["GET", "POST"])
def product(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        item = vendor_records.own_product(vendor_records.vendor_of(request.user), product_id)
    except RegistryError as exc:
        return error_page(request, exc)
    form = forms.DeviceClassForm(request.POST if request.method == "POST" else None,
                                 initial={"device_class": item.device_class})
    return _save_or_show(
        request, form, lambda data: vendor_records.set_device_class(request.user, product_id, data["device_class"]),
        "market/vendor_product.html", {"product": item, "firmware_form": forms.FirmwareForm(),
                                       "firmware": item.firmware_versions.order_by("pk"),
                                       "title": f"{item.model}"})


@login_required(login_url=LOGIN)
@require_POST
def firmware(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        item = vendor_records.own_product(vendor_records.vendor_of(request.user), product_id)
    except RegistryError as exc:
        return error_page(request, exc)
    form = forms.FirmwareForm(request.POST)
    return _save_or_show(request, form, lambda data: vendor_records.set_firmware(request.user, product_id, data),
                         "market/vendor_form.html", {"title": f"Firmware of {item.model}"})


@login_required(login_url=LOGIN)
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, kind: str, report_id: int | None = None) -> HttpResponse:
    try:
        org = vendor_records.vendor_of(request.user)
        current = vendor_records.own_report(org, kind, report_id) if report_id is not None else None
    except RegistryError as exc:
        return error_page(request, exc)
    initial = {}
    if current is not None:
        initial = {name: getattr(current, name) for name in FORMS[kind].base_fields if name != "product_id"}
        initial["product_id"] = current.product_id
    form = FORMS[kind](request.POST if request.method == "POST" else None, initial=initial,
                       products=Product.objects.filter(vendor=org).order_by("model"))
    title = ("Vulnerability report" if kind == "vulnerability" else "Severe incident") + (
        "" if current is None else f": {current.title}")
    return _save_or_show(request, form, lambda data: vendor_records.save_report(request.user, kind, data, report_id),
                         "market/vendor_form.html", {"title": title,
                                                     "deadlines": report_deadlines(current) if current else [],
                                                     "labels": STAGE_LABELS})


@login_required(login_url=LOGIN)
@require_GET
def overdue(request: HttpRequest) -> HttpResponse:
    """Regulators: every CRA report past its deadline and not sent, across vendors."""
    from iotmark.registry.market.clocks import overdue_reports
    from iotmark.registry.services import role_of

    member = role_of(request.user)
    if member is None or member.role != "regulator":
        return error_page(request, RegistryError(403, "only regulators can list overdue reports"))
    return render(request, "market/overdue.html", {"reports": overdue_reports(), "labels": STAGE_LABELS})
