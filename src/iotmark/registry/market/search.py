"""Public product search over the certificate listing: filters, sort, pages. Filter values arrive as text (a
GET form or API query) and are checked here, so both front ends refuse the same bad values the same way."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db.models import F, Q, QuerySet
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iotmark.inputs import describe_validation_error
from iotmark.registry.market.models import CertificateListing
from iotmark.registry.services import RegistryError

MAX_PAGE_SIZE = 100
MAX_WORDS = 8
STATUSES = ("valid", "expired", "revoked")
SORTS = {
    "level": ("-level", "-issued", "cert_id"),
    "support": (F("support_until").desc(nulls_last=True), "-level", "cert_id"),
    "newest": ("-issued", "cert_id"),
    "name": ("vendor_name", "model", "firmware_version", "cert_id"),
}
SORT_LABELS = {"level": "Highest security level", "support": "Longest security updates", "newest": "Newest certificate",
               "name": "Vendor and model name"}


class SearchFilters(BaseModel):
    """What a buyer can narrow the list by."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    q: str = Field(default="", max_length=100, description="words to find in the vendor, model or firmware version")
    vendor: int | None = Field(default=None, ge=1, le=2**63 - 1, description="vendor organisation id")
    device_class: str | None = Field(default=None, max_length=100)
    min_level: int | None = Field(default=None, ge=0, le=4)
    updates_until: dt.date | None = Field(default=None, description="security updates promised at least until")
    status: Literal["valid", "expired", "revoked"] | None = None
    sort: Literal["level", "support", "newest", "name"] = "level"
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)


def parse_filters(params) -> SearchFilters:
    """SearchFilters from a query dict; empty values mean "no filter". Bad values raise RegistryError(400)."""
    raw = {}
    for name in SearchFilters.model_fields:
        values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
        values = [v for v in values if v not in (None, "")]
        if len(values) > 1:
            raise RegistryError(400, f"filter {name!r} is given more than once")
        if values:
            raw[name] = values[0]
    try:
        filters = SearchFilters.model_validate(raw)
    except ValidationError as exc:
        raise RegistryError(400, describe_validation_error("search filters", exc)) from None
    if filters.device_class is not None:
        from iotmark.catalog.loader import load_device_classes

        classes = load_device_classes()
        if filters.device_class not in classes:
            raise RegistryError(400, f"unknown device class {filters.device_class!r}; "
                                     f"choose one of {', '.join(classes)}")
    return filters


def listing_status(row: CertificateListing, today: dt.date) -> str:
    """valid | expired | revoked | unknown (not yet in effect), the same rules as the verify page."""
    if row.revoked:
        return "revoked"
    if today < row.issued:
        return "unknown"
    return "expired" if today > row.expires else "valid"


def status_q(status: str, today: dt.date) -> Q:
    if status == "revoked":
        return Q(revoked=True)
    if status == "expired":
        return Q(revoked=False, expires__lt=today)
    return Q(revoked=False, issued__lte=today, expires__gte=today)


def search(filters: SearchFilters, today: dt.date | None = None) -> tuple[int, list[CertificateListing]]:
    """(number of matches, the rows of the requested page)."""
    today = today or dt.date.today()
    rows: QuerySet = CertificateListing.objects.all()
    for word in filters.q.lower().split()[:MAX_WORDS]:
        rows = rows.filter(search_text__contains=word)
    if filters.vendor is not None:
        rows = rows.filter(vendor_id=filters.vendor)
    if filters.device_class is not None:
        rows = rows.filter(device_class=filters.device_class)
    if filters.min_level:
        rows = rows.filter(level__gte=filters.min_level)
    if filters.updates_until is not None:
        rows = rows.filter(support_until__gte=filters.updates_until)
    if filters.status is not None:
        rows = rows.filter(status_q(filters.status, today))
    total = rows.count()
    start = (filters.page - 1) * filters.page_size
    page = list(rows.order_by(*SORTS[filters.sort])[start:start + filters.page_size]) if start < total else []
    return total, page
