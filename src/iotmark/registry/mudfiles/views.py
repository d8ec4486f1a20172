"""Pages of the mudfiles app: the public MUD URL (file and signature, exact bytes, cache headers), each published
version at its own stable URL, a public page per product listing its versions, and the vendor's own MUD page
(uploads and signer certificates)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iotmark.registry.mudfiles import forms, records
from iotmark.registry.mudfiles.checks import MAX_MUD_BYTES, MAX_SIGNATURE_BYTES, MudRefused
from iotmark.registry.mudfiles.models import MudFile, MudSigner
from iotmark.registry.services import RegistryError

LOGIN = "login"


def _error(request: HttpRequest, exc: RegistryError) -> HttpResponse:
    return render(request, "mudfiles/error.html", {"message": str(exc),
                                                   "errors": getattr(exc, "errors", [])}, status=exc.status)


# A numbered version's bytes never change, so caches may keep it for a year without asking again.
IMMUTABLE = f"public, max-age={365 * 24 * 3600}, immutable"


def _served(request: HttpRequest, record: MudFile, body: bytes, content_type: str,
            cache_control: str | None = None) -> HttpResponse:
    """`body` with validators and caching for MUD managers: ETag (content digest), Last-Modified (upload time),
    max-age from the file's cache-validity unless `cache_control` is given; a matching If-None-Match /
    If-Modified-Since gets 304."""
    etag = f'"{record.sha256}"' if content_type == "application/mud+json" else f'"{record.sha256}-p7s"'
    last_modified = int(record.uploaded.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = cache_control or f"public, max-age={record.cache_validity_hours * 3600}"
    return response


@require_GET
def mud_file(request: HttpRequest, vendor_id: int, slug: str) -> HttpResponse:
    record = records.latest(vendor_id, slug)
    if record is None:
        raise Http404("no MUD file here")
    return _served(request, record, bytes(record.content), "application/mud+json")


@require_GET
def mud_signature(request: HttpRequest, vendor_id: int, slug: str) -> HttpResponse:
    record = records.latest(vendor_id, slug)
    if record is None or record.signature is None:
        raise Http404("no signature for this MUD file")
    return _served(request, record, bytes(record.signature), "application/pkcs7-signature")


@require_GET
def mud_version_file(request: HttpRequest, vendor_id: int, slug: str, version: int) -> HttpResponse:
    record = records.version_of(vendor_id, slug, version)
    if record is None:
        raise Http404("no such version of this MUD file")
    return _served(request, record, bytes(record.content), "application/mud+json", IMMUTABLE)


@require_GET
def mud_version_signature(request: HttpRequest, vendor_id: int, slug: str, version: int) -> HttpResponse:
    record = records.version_of(vendor_id, slug, version)
    if record is None or record.signature is None:
        raise Http404("no signature for this version of the MUD file")
    return _served(request, record, bytes(record.signature), "application/pkcs7-signature", IMMUTABLE)


@require_GET
def mud_product(request: HttpRequest, vendor_id: int, slug: str) -> HttpResponse:
    found = records.versions(vendor_id, slug)
    if not found:
        raise Http404("no MUD file here")
    base = records.registry_base(request)
    rows = [{"record": record, "url": records.version_url(base, record),
             "signature_url": records.version_url(base, record, "p7s") if record.signed_by else None}
            for record in found]
    return render(request, "mudfiles/product.html", {
        "product": found[0].product, "versions": rows, "latest": found[0],
        "mud_url": f"{base}/mud/{vendor_id}/{slug}.json", "signature_url": f"{base}/mud/{vendor_id}/{slug}.p7s"})


def _read(upload, limit: int) -> bytes:
    # One byte past the limit is enough for the checks to say it is too large, without reading it all.
    return upload.read(limit + 1)


def _vendor_page(request: HttpRequest, upload_form, signer_form, status: int = 200, **extra) -> HttpResponse:
    org = records.vendor_of(request.user)
    base = records.registry_base(request)
    rows = []
    for product in records.products_of(request.user):
        current = MudFile.objects.filter(product=product).defer("content", "signature").order_by("-version").first()
        rows.append({"product": product, "current": current, "mud_url": records.mud_url(base, product),
                     "page": f"/mud/{org.pk}/{records.slug_for(product)}"})
    return render(request, "mudfiles/vendor.html", {
        "org": org, "rows": rows, "signers": MudSigner.objects.filter(vendor=org).order_by("added"),
        "upload_form": upload_form, "signer_form": signer_form, **extra}, status=status)


@login_required(login_url=LOGIN)
@require_http_methods(["GET", "POST"])
def vendor_mud(request: HttpRequest) -> HttpResponse:
    try:
        org = records.vendor_of(request.user)
    except RegistryError as exc:
        return _error(request, exc)
    form = forms.MudUploadForm(org, request.POST or None, request.FILES or None)
    if request.method == "GET":
        return _vendor_page(request, form, forms.SignerForm())
    if not form.is_valid():
        if "product" in form.errors and request.POST.get("product"):  # someone else's product, or none at all
            return _error(request, RegistryError(404, "no such product among your organisation's products"))
        return _vendor_page(request, form, forms.SignerForm(), status=400)
    data = form.cleaned_data
    signature = _read(data["signature"], MAX_SIGNATURE_BYTES) if data["signature"] else None
    try:
        record = records.upload(request.user, data["product"].pk, _read(data["mud_file"], MAX_MUD_BYTES),
                                signature, records.registry_base(request))
    except RegistryError as exc:
        if exc.status == 404:
            return _error(request, exc)
        return _vendor_page(request, form, forms.SignerForm(), status=exc.status, refused=str(exc),
                            refused_errors=getattr(exc, "errors", []))
    return _vendor_page(request, forms.MudUploadForm(org), forms.SignerForm(), uploaded=record)


@login_required(login_url=LOGIN)
@require_POST
def vendor_signer_add(request: HttpRequest) -> HttpResponse:
    try:
        org = records.vendor_of(request.user)
    except RegistryError as exc:
        return _error(request, exc)
    form = forms.SignerForm(request.POST, request.FILES)
    if not form.is_valid():
        return _vendor_page(request, forms.MudUploadForm(org), form, status=400)
    try:
        records.register_signers(request.user, _read(form.cleaned_data["certificate"], records.MAX_SIGNER_PEM_BYTES))
    except MudRefused as exc:
        form.add_error("certificate", str(exc))
        return _vendor_page(request, forms.MudUploadForm(org), form, status=exc.status)
    return redirect("mud-vendor")
