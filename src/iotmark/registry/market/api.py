"""JSON API of the market app: a django-ninja Router mounted at /api/v1/ by iotmark.registry.api."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from iotmark.registry.market import search as product_search
from iotmark.registry.market.compare import ComparedProduct
from iotmark.registry.market.compare import compare as compare_products

router = Router(tags=["market"])


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


@router.get("/products", auth=None, response={200: ProductPage, 400: ErrorOut},
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


@router.get("/compare", auth=None, response={200: list[ComparedProduct], 400: ErrorOut, 404: ErrorOut},
            summary="Compare 2-4 certified products side by side (c=<certificate id>, repeated)")
def compare(request: HttpRequest, c: Query[list[str]] = None):
    return compare_products(request.GET.getlist("c"))
