"""Public pages: /records lists this registry's valid certificates and the records mirrored from other
registries (each marked with where it came from); /records/<source>/<id> shows one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from iotmark.registry import services
from iotmark.registry.interop import exchange
from iotmark.registry.interop.models import ExternalRecord

PAGE_SIZE = 50
# (field, question a buyer asks) in the order the detail page shows them
FIELD_QUESTIONS = [
    ("manufacturer_name", "Who makes it"),
    ("authorization_date", "Allowed to carry the label since"),
    ("authorized_by", "Label granted by"),
    ("tested_by", "Tested by"),
    ("support_date", "Security updates promised until"),
    ("access_control", "Passwords and logging in"),
    ("security_update_information", "Security updates"),
    ("encryption_and_key_management", "Encryption"),
    ("sensor_data_collection", "What data it collects"),
    ("delete_data", "Deleting your data"),
    ("account_deactivation", "Closing your account"),
    ("security_contact", "Where to report a security problem"),
    ("sbom_hbom_available", "Parts list (bill of materials) published"),
]


@dataclass
class Row:
    product_name: str
    manufacturer_name: str
    source: str  # "" for this registry's own
    url: str
    withdrawn: str = ""


@require_GET
def record_list(request: HttpRequest) -> HttpResponse:
    own = [Row(f"{c.firmware.product.model} (firmware {c.firmware.version})", c.firmware.product.vendor.name, "",
               f"/records/{exchange.LOCAL_SOURCE}/{c.cert_id}")
           for c in exchange.valid_certificates().select_related("firmware__product__vendor")]
    mirrored = [Row(r.product_name, r.manufacturer_name, r.source.name, f"/records/{r.source.slug}/{r.pk}",
                    r.withdrawn_reason)
                for r in ExternalRecord.objects.select_related("source")]
    rows = sorted(own + mirrored, key=lambda row: (row.manufacturer_name.lower(), row.product_name.lower(), row.source))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "interop/records.html", {"page": page, "own_count": len(own),
                                                    "mirrored_count": len(mirrored)})


def _shown(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(question, answer, why unknown) for the detail page."""
    notes = record.get("x_iotmark_notes") or {}
    out = []
    for field, question in FIELD_QUESTIONS:
        value = record.get(field)
        if isinstance(value, bool):
            value = "Yes" if value else "No"
        out.append((question, "" if value is None else str(value), "" if value is not None else notes.get(field, "")))
    return out


@require_GET
def record_detail(request: HttpRequest, source: str, record_id: str) -> HttpResponse:
    context: dict[str, Any] = {}
    if source == exchange.LOCAL_SOURCE:
        row = None
        if len(record_id) <= services.MAX_ID_LENGTH:
            row = exchange.valid_certificates().filter(cert_id=record_id).first()
        if row is None:
            raise Http404("no currently valid certificate with this id")
        record = exchange.certificate_record(row)
        context.update(source_name="", cert_id=row.cert_id)
    else:
        found = (ExternalRecord.objects.select_related("source")
                 .filter(source__slug=source, pk=int(record_id)).first() if record_id.isdigit() else None)
        if found is None:
            raise Http404("no such mirrored record")
        record = found.record
        context.update(source_name=found.source.name, external=found)
    context.update(record=record, fields=_shown(record))
    return render(request, "interop/record.html", context)
