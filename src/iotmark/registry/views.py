"""Server-rendered public pages; the label's QR code opens /verify/<id>."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from iotmark.registry import services

STATUS_TITLES = {"valid": "Valid certificate", "expired": "Expired certificate", "revoked": "Revoked certificate",
                 "unknown": "Unknown certificate"}


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    cert_id = request.GET.get("id", "").strip()
    if cert_id and len(cert_id) <= services.MAX_ID_LENGTH and "/" not in cert_id:
        return redirect("verify", cert_id=cert_id)
    return render(request, "index.html")


@require_GET
def verify(request: HttpRequest, cert_id: str) -> HttpResponse:
    status = services.certificate_status(cert_id)
    context = {"status": status, "title": STATUS_TITLES[status.status], "record": status.certificate,
               "revocation": status.revocation}
    return render(request, "verify.html", context, status=404 if status.certificate is None else 200)
