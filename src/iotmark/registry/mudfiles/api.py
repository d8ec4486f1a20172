"""JSON API of the mudfiles app: a django-ninja Router mounted at /api/v1/. Vendors upload MUD files and register
signer certificates with a bearer token; serving is the plain /mud/... URLs, not this API."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from iotmark.registry.mudfiles import records
from iotmark.registry.mudfiles.checks import MAX_MUD_BYTES, MAX_SIGNATURE_BYTES, MudRefused

router = Router(tags=["mud"])

from iotmark.registry.api import TokenAuth  # noqa: E402 - after `router`: iotmark.registry.api imports this module


class RefusedOut(Schema):
    detail: str
    errors: list[str] = []


class MudOut(Schema):
    product_id: int
    version: int
    mud_url: str
    signature_url: str | None
    sha256: str
    signed_by: str
    cache_validity_hours: int
    warnings: list[str]


class MudVersionOut(Schema):
    version: int
    published: dt.datetime
    published_by: str | None
    sha256: str
    signed_by: str
    url: str
    signature_url: str | None


class ProductMudOut(Schema):
    product_id: int
    model: str
    mud_url: str
    current_version: int | None
    versions: list[MudVersionOut]


class SignerOut(Schema):
    subject: str
    sha256: str


REFUSALS = {400: RefusedOut, 401: RefusedOut, 403: RefusedOut, 404: RefusedOut, 409: RefusedOut, 413: RefusedOut,
            503: RefusedOut}


@router.get("/mud/products", auth=TokenAuth(), url_name="mud-api-vendor-products",
            response={200: list[ProductMudOut], **REFUSALS},
            summary="Your products with the MUD URL each must name, the version published there and every earlier "
                    "version with its own address (vendor members)")
def vendor_products(request: HttpRequest):
    base = records.registry_base(request)
    out = []
    for product in records.products_of(request.auth):
        published = list(product.mud_files.select_related("product", "uploaded_by").defer("content", "signature")
                         .order_by("-version"))
        out.append(ProductMudOut(
            product_id=product.pk, model=product.model, mud_url=records.mud_url(base, product),
            current_version=published[0].version if published else None,
            versions=[MudVersionOut(
                version=r.version, published=r.uploaded, sha256=r.sha256, signed_by=r.signed_by,
                published_by=r.uploaded_by.get_username() if r.uploaded_by else None,
                url=records.version_url(base, r),
                signature_url=records.version_url(base, r, "p7s") if r.signed_by else None) for r in published]))
    return Status(200, out)


@router.post("/mud", auth=TokenAuth(), url_name="mud-api-upload", response={201: MudOut, **REFUSALS},
             summary="Publish a new version of a product's MUD file, optionally with its signature (vendor members)",
             description="multipart/form-data: `product_id`, `mud` (the file, at most 256 KiB) and optionally "
                         "`signature` (detached CMS, DER). The file's mud-url must be the URL this registry serves "
                         "it at; a refusal lists every schema error and stores nothing.")
def upload(request: HttpRequest, product_id: Form[int], mud: File[UploadedFile],
           signature: UploadedFile | None = File(None)):
    base = records.registry_base(request)
    try:
        record = records.upload(request.auth, product_id, mud.read(MAX_MUD_BYTES + 1),
                                signature.read(MAX_SIGNATURE_BYTES + 1) if signature else None, base)
    except MudRefused as exc:
        return Status(exc.status, RefusedOut(detail=str(exc), errors=exc.errors))
    product = record.product
    return Status(201, MudOut(product_id=product.pk, version=record.version, mud_url=records.mud_url(base, product),
                              signature_url=records.signature_url(base, product) if record.signed_by else None,
                              sha256=record.sha256, signed_by=record.signed_by,
                              cache_validity_hours=record.cache_validity_hours, warnings=record.warnings))


@router.post("/mud/signers", auth=TokenAuth(), url_name="mud-api-signer-add",
             response={201: list[SignerOut], **REFUSALS},
             summary="Register the CA certificate(s) your MUD signatures chain to (vendor members)",
             description="multipart/form-data: `certificate`, a PEM file with one to four certificates.")
def add_signers(request: HttpRequest, certificate: File[UploadedFile]):
    try:
        added = records.register_signers(request.auth, certificate.read(records.MAX_SIGNER_PEM_BYTES + 1))
    except MudRefused as exc:
        return Status(exc.status, RefusedOut(detail=str(exc)))
    return Status(201, [SignerOut(subject=s.subject, sha256=s.fingerprint) for s in added])
