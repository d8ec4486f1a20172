"""JSON API (django-ninja): public certificate status, lab uploads and revocations with bearer tokens.

The OpenAPI schema is served at /api/openapi.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from django.http import HttpRequest, JsonResponse
from ninja import NinjaAPI, Schema, Status
from ninja.errors import HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field

from iotmark.registry import services


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = services.user_for_token(token)
        if user is not None:
            request.user = user
        return user


# What every operation answers when its parameters or body do not validate (see `invalid_request`).
INVALID_REQUEST_RESPONSE = {
    "description": "The request does not match the operation's parameters or body; `detail` says which field.",
    "content": {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}}},
}


class RegistryAPI(NinjaAPI):
    """The registry's API: every operation's schema documents the 422 a request that does not validate gets."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for methods in schema["paths"].values():
            for operation in methods.values():
                operation.setdefault("responses", {})["422"] = INVALID_REQUEST_RESPONSE
        return schema


api = RegistryAPI(title="iotmark registry", version="1", urls_namespace="registry-api")


class UploadIn(Schema):
    certificate: str = Field(description="the certificate file written by `iotmark certify`, verbatim")
    assessment: str = Field(description="the assessment JSON the certificate was issued for, verbatim")
    bundle: str | None = Field(default=None, description="optional: the evidence bundle the assessment was made "
                                                         "from (bundle.json, verbatim); shown in the report")


class RevokeIn(Schema):
    reason: str = Field(min_length=1, max_length=1000)


class ErrorOut(Schema):
    detail: str


class CertificateOut(Schema):
    id: str
    status: Literal["valid", "expired", "revoked", "unknown"]
    summary: str
    level: int | None = None
    level_name: str | None = None
    vendor: str | None = None
    model: str | None = None
    firmware_version: str | None = None
    device_class: str | None = None
    standard: str | None = None
    issuer: str | None = None
    issued: dt.date | None = None
    expires: dt.date | None = None
    support_until: dt.date | None = None
    known_issues: list[str] = []
    revoked_on: dt.date | None = None
    revocation_reason: str | None = None
    verify_url: str


def certificate_fields(request: HttpRequest, status: services.Status) -> dict:
    """The answer about one certificate id, as CertificateOut's fields (JSON-ready: dates as ISO strings)."""
    facts = status.facts
    out = {"id": status.cert_id, "status": status.status, "summary": status.summary, **_NO_FACTS,
           "verify_url": request.build_absolute_uri(f"/verify/{status.cert_id}")}
    if facts is not None:
        out.update({"level": facts.level, "level_name": facts.level_name, "device_class": facts.device_class,
                    "vendor": facts.vendor, "model": facts.model, "firmware_version": facts.firmware_version,
                    "support_until": _iso(facts.support_until), "standard": facts.standard, "issuer": facts.issuer,
                    "issued": _iso(facts.issued), "expires": _iso(facts.expires),
                    "known_issues": facts.known_issues, "revoked_on": _iso(facts.revoked_on),
                    "revocation_reason": facts.revocation_reason})
    return out


_NO_FACTS = {"level": None, "level_name": None, "vendor": None, "model": None, "firmware_version": None,
             "device_class": None, "standard": None, "issuer": None, "issued": None, "expires": None,
             "support_until": None, "known_issues": [], "revoked_on": None, "revocation_reason": None}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def certificate_out(request: HttpRequest, status: services.Status) -> CertificateOut:
    return CertificateOut(**certificate_fields(request, status))


def verify_answer(request: HttpRequest, cert_id: str) -> JsonResponse:
    """GET /api/v1/certificates/{id}/verify without the API framework's per-request work: the label's QR target is
    the registry's busiest request. Routed ahead of the API in urls.py; the same answer (and schema) as the
    documented operation below, which a test holds it to."""
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": "Method not allowed"}, status=405)
    status = services.verify_status_cached(cert_id)
    response = JsonResponse(certificate_fields(request, status), status=404 if status.facts is None else 200)
    response["Cache-Control"] = f"public, max-age={services.VERIFY_CACHE_SECONDS:.0f}"
    return response


@api.exception_handler(services.RegistryError)
def registry_error(request: HttpRequest, exc: services.RegistryError):
    return api.create_response(request, {"detail": str(exc)}, status=exc.status)


@api.exception_handler(ValidationError)
def invalid_request(request: HttpRequest, exc: ValidationError):
    """One line naming the fields that did not validate, instead of django-ninja's list of pydantic errors."""
    places = {"body", "query", "path", "form", "file", "header", "cookie", "payload"}
    parts = []
    for error in exc.errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if str(part) not in places) or "request"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    more = f" (and {len(exc.errors) - 5} more)" if len(exc.errors) > 5 else ""
    return api.create_response(request, {"detail": "invalid request: " + "; ".join(parts) + more}, status=422)


@api.exception_handler(RecursionError)
def too_deep(request: HttpRequest, exc: RecursionError):
    return api.create_response(request, {"detail": "request body is nested too deeply"}, status=400)


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


@api.post("/certificates", auth=TokenAuth(), response={200: CertificateOut, 201: CertificateOut, **ERRORS},
          url_name="api-certificate-upload",
          summary="Upload a signed certificate with its assessment (lab assessors)",
          description="Send an `Idempotency-Key` header (up to 100 characters) to make retries safe: the same key "
                      "and body get the first answer again; the same key with another body gets 422.")
def upload(request: HttpRequest, body: UploadIn):
    key = request.headers.get("Idempotency-Key")
    if key is None:
        record, created = services.upload_certificate(request.auth, body.certificate, body.assessment,
                                                      bundle_json=body.bundle)
        return Status(201 if created else 200, certificate_out(request, services.certificate_status(record.cert_id)))

    def answer(record, created: bool) -> tuple[int, dict]:
        out = certificate_out(request, services.certificate_status(record.cert_id))
        return 201 if created else 200, out.model_dump(mode="json")

    status, stored = services.upload_idempotently(request.auth, key, hashlib.sha256(request.body).hexdigest(),
                                                  body.certificate, body.assessment, answer, bundle_json=body.bundle)
    return Status(status, stored)


@api.get("/certificates/{cert_id}", auth=None, response={200: CertificateOut, 404: CertificateOut},
         url_name="api-certificate",
         summary="A certificate's status: valid, expired, revoked or unknown")
def certificate(request: HttpRequest, cert_id: str):
    status = services.verify_status(cert_id)
    return Status(404 if status.facts is None else 200, certificate_out(request, status))


@api.get("/v1/certificates/{cert_id}/verify", auth=None, response={200: CertificateOut, 404: CertificateOut},
         url_name="api-certificate-verify",
         summary="Same as /certificates/{id}, at the path the issue's contract names")
def verify(request: HttpRequest, cert_id: str):
    return certificate(request, cert_id)


@api.post("/certificates/{cert_id}/revoke", auth=TokenAuth(), response={200: CertificateOut, **ERRORS},
          url_name="api-certificate-revoke",
          summary="Revoke a certificate with a reason (its issuing lab)")
def revoke(request: HttpRequest, cert_id: str, body: RevokeIn):
    if len(cert_id) > services.MAX_ID_LENGTH:
        raise HttpError(404, "no such certificate")
    services.revoke_certificate(request.auth, cert_id, body.reason)
    return Status(200, certificate_out(request, services.certificate_status(cert_id)))


# The other registry apps' endpoints (imported last: their modules may import names from this one).
from iotmark.registry.enforcement.api import router as enforcement_router  # noqa: E402
from iotmark.registry.interop.api import router as interop_router  # noqa: E402
from iotmark.registry.market.api import router as market_router  # noqa: E402
from iotmark.registry.mudfiles.api import router as mud_router  # noqa: E402
from iotmark.registry.programme_site.api import router as programme_router  # noqa: E402

api.add_router("/v1/", market_router)
api.add_router("/v1/", enforcement_router)
api.add_router("/v1/", interop_router)
api.add_router("/v1/", programme_router)
api.add_router("/v1/", mud_router)
