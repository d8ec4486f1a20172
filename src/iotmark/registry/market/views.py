"""Pages of the market app: public search, compare and vendor scorecards; vendors' own data pages."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from iotmark.registry.market import search as product_search
from iotmark.registry.services import RegistryError
from iotmark.registry.web import refused


def error_page(request: HttpRequest, exc: RegistryError) -> HttpResponse:
    return refused(request, str(exc), exc.status)


def device_class_names() -> dict[str, str]:
    from iotmark.catalog.loader import load_device_classes

    return {cid: cls.name for cid, cls in load_device_classes().items()}


@require_GET
def products(request: HttpRequest) -> HttpResponse:
    from iotmark.registry.models import Organisation

    try:
        filters = product_search.parse_filters(request.GET)
    except RegistryError as exc:
        return error_page(request, exc)
    total, rows = product_search.search(filters)
    today = dt.date.today()
    classes = device_class_names()
    results = [{"row": r, "status": product_search.listing_status(r, today), "class_name": classes.get(r.device_class,
                r.device_class)} for r in rows]
    pages = -(-total // filters.page_size)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "total": total, "results": results, "pages": pages, "classes": classes,
               "vendors": Organisation.objects.filter(kind="vendor").order_by("name").values_list("pk", "name"),
               "sorts": product_search.SORT_LABELS, "statuses": product_search.STATUSES, "query": query.urlencode(),
               "previous_page": filters.page - 1 if filters.page > 1 else None,
               "next_page": filters.page + 1 if filters.page < pages else None}
    return render(request, "market/products.html", context)


@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    from iotmark.registry.market.compare import compare as compare_products

    try:
        products = compare_products(request.GET.getlist("c"))
    except RegistryError as exc:
        return error_page(request, exc)
    return render(request, "market/compare.html", {"products": products})


@require_GET
def vendors(request: HttpRequest) -> HttpResponse:
    from django.db.models import Count

    from iotmark.registry.models import Organisation

    rows = (Organisation.objects.filter(kind="vendor").annotate(product_count=Count("products"))
            .order_by("name")[:1000])
    return render(request, "market/vendors.html", {"vendors": rows})


@require_GET
def vendor_scorecard(request: HttpRequest, vendor_id: int) -> HttpResponse:
    from iotmark.registry.market.models import CertificateListing
    from iotmark.registry.market.scorecard import public_vendor, scorecard

    try:
        org = public_vendor(vendor_id)
    except RegistryError as exc:
        return error_page(request, exc)
    card = scorecard(org)
    today = dt.date.today()
    rows = CertificateListing.objects.filter(vendor=org).order_by("-level", "-issued", "cert_id")[:50]
    listings = [{"row": r, "status": product_search.listing_status(r, today)} for r in rows]
    return render(request, "market/scorecard.html", {"card": card, "listings": listings})
