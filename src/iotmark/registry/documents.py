"""The consumer label (SVG, PNG) and the HTML test report of a stored certificate, rendered on request with
iotmark's own label and report code. The label's QR code points at this registry's verify page."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET

from iotmark.model import Assessment, Bundle
from iotmark.model import Certificate as SignedCertificate
from iotmark.registry import services
from iotmark.registry.models import Certificate

# Rendered documents carry text from uploaded files: no scripts, no outside requests, no sniffing.
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
REGISTRY_NOTE = (
    '<aside style="border:2px solid #1f3a5f;padding:.6rem .8rem;margin:1rem 0;font-family:system-ui,sans-serif">'
    "<strong>Copy held by the registry.</strong> This report is rebuilt from the assessment the lab uploaded with "
    "certificate {cert_id}. The lab did not share its evidence, so the registry keeps the verdicts and their "
    "reasons and the lists of individual findings are empty here; the lab keeps the evidence bundle "
    "(sha256:{bundle_digest}).</aside>"
)
SHARED_NOTE = (
    '<aside style="border:2px solid #1f3a5f;padding:.6rem .8rem;margin:1rem 0;font-family:system-ui,sans-serif">'
    "<strong>Copy held by the registry.</strong> This report is rebuilt from the assessment and the evidence "
    "bundle (sha256:{bundle_digest}) the lab uploaded with certificate {cert_id}; the registry checked that the "
    "bundle is the one the assessment names.</aside>"
)


def _stored(cert_id: str) -> tuple[Certificate, SignedCertificate, Assessment]:
    record = None
    if len(cert_id) <= services.MAX_ID_LENGTH:
        record = Certificate.objects.select_related("revocation").filter(cert_id=cert_id).first()
    if record is None:
        raise Http404("no certificate with this id is registered")
    return (record, SignedCertificate.model_validate_json(record.document),
            Assessment.model_validate_json(record.assessment))


def _with_registry_link(request: HttpRequest, certificate: SignedCertificate) -> SignedCertificate:
    url = request.build_absolute_uri(reverse("verify", args=[certificate.id]))
    return certificate.model_copy(update={"verify_url": url})


def _document(body: bytes | str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Security-Policy"] = DOCUMENT_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=300"  # a revocation must show within minutes
    return response


def _withdrawn(record: Certificate) -> str | None:
    """What to stamp across the label when the registry no longer vouches for it (revoked, expired): the same
    order as the verify status, read from the record already loaded."""
    revocation = getattr(record, "revocation", None)
    if revocation is not None:
        return f"REVOKED {revocation.date.isoformat()}"
    return "EXPIRED" if dt.date.today() > record.expires else None


@require_GET
def label_svg(request: HttpRequest, cert_id: str) -> HttpResponse:
    from iotmark.assess.label import render_label_svg

    record, certificate, assessment = _stored(cert_id)
    svg = render_label_svg(_with_registry_link(request, certificate), assessment, _withdrawn(record))
    return _document(svg, "image/svg+xml")


@require_GET
def label_png(request: HttpRequest, cert_id: str) -> HttpResponse:
    from iotmark.assess.label import render_label_png

    record, certificate, assessment = _stored(cert_id)
    png = render_label_png(_with_registry_link(request, certificate), assessment, withdrawn=_withdrawn(record))
    return _document(png, "image/png")


@require_GET
def report_html(request: HttpRequest, cert_id: str) -> HttpResponse:
    from iotmark.report.html import render_html

    record, certificate, assessment = _stored(cert_id)
    if record.bundle:  # checked against the assessment's bundle digest on upload
        bundle, template = Bundle.model_validate_json(record.bundle), SHARED_NOTE
    else:
        # No evidence shared: an empty bundle with the assessed target stands in for it.
        bundle, template = Bundle(target=assessment.target, created=assessment.assessed_at), REGISTRY_NOTE
    page = render_html(bundle, assessment, _with_registry_link(request, certificate))
    page = page.replace(bundle.digest(), assessment.bundle_digest)
    note = template.format(cert_id=escape(certificate.id), bundle_digest=escape(assessment.bundle_digest))
    page = page.replace("<body>", "<body>\n" + note, 1)
    return _document(page, "text/html; charset=utf-8")
