"""JSON API of the interop app: a django-ninja Router mounted on the registry's API by iotmark.registry.api.

GET  /api/v1/records              public list of this registry's valid certificates as CTA-2120 records
GET  /api/v1/records/{cert_id}    one record
POST /api/v1/records/import       import another registry's record list (administrators and regulators)
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.errors import HttpError
from ninja.security import SessionAuth

from iotmark.registry import services
from iotmark.registry.api import ERRORS, TokenAuth
from iotmark.registry.interop import cta2120, exchange
from iotmark.registry.models import Member

router = Router(tags=["interop"])

IMPORT_ROLES = (Member.Role.ADMIN, Member.Role.REGULATOR)


def _origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise HttpError(400, "since: expected an ISO 8601 time such as 2026-01-31T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@router.get("/records", auth=None, url_name="interop-records", response={200: dict, 400: ERRORS[400]},
            summary="This registry's currently valid certificates as CTA-2120 records, oldest first, paginated")
def records(request: HttpRequest, since: str | None = None, page: int = 1, page_size: int = exchange.DEFAULT_PAGE_SIZE):
    if page < 1 or not 1 <= page_size <= exchange.MAX_PAGE_SIZE:
        raise HttpError(400, f"page must be 1 or more and page_size between 1 and {exchange.MAX_PAGE_SIZE}")
    start = _since(since)
    base = request.build_absolute_uri(request.path)

    def page_url(n: int) -> str:
        query = f"page={n}&page_size={page_size}" + (f"&since={cta2120.timestamp(start)}" if start else "")
        return f"{base}?{query}"

    return JsonResponse(exchange.record_list(start, page, page_size, _origin(request), page_url))


@router.post("/records/import", auth=[TokenAuth(), SessionAuth()], url_name="interop-records-import",
             response={200: dict, **ERRORS},
             summary="Import a CTA-2120 record list from another registry (administrators and regulators)")
def import_records(request: HttpRequest, source: str = ""):
    member = services.role_of(request.auth)
    if member is None or member.role not in IMPORT_ROLES:
        raise HttpError(403, "only administrators and regulators can import records")
    if not source.strip():
        raise HttpError(400, "name the registry the records come from: ?source=NAME")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > cta2120.MAX_DOCUMENT_BYTES:
        raise HttpError(413, f"record list is larger than {cta2120.MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    if not request.body:
        raise HttpError(400, "the request body must be a record list (JSON)")
    try:
        result = exchange.import_document(source, request.body, actor=request.auth)
    except cta2120.RecordError as exc:
        raise HttpError(400, str(exc)) from None
    return {"source": result.source, "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "withdrawn": result.withdrawn}


@router.get("/records/{cert_id}", auth=None, url_name="interop-record", response={200: dict, 404: ERRORS[404]},
            summary="One certificate of this registry as a CTA-2120 record (404 unless currently valid)")
def record(request: HttpRequest, cert_id: str):
    row = None
    if len(cert_id) <= services.MAX_ID_LENGTH:
        row = exchange.valid_certificates().filter(cert_id=cert_id).first()
    if row is None:
        raise HttpError(404, "no currently valid certificate with this id")
    return JsonResponse(exchange.certificate_record(row))
