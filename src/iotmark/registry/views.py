"""Server-rendered pages: public verify (the label's QR code opens /verify/<id>), lab upload, revocation (the
issuing lab or a registry administrator, with a confirmation page), and each user's API tokens. Every page checks
the role server-side."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iotmark.registry import forms, services
from iotmark.registry.models import ApiToken, Member
from iotmark.registry.web import refused

STATUS_TITLES = {"valid": "Valid certificate", "expired": "Expired certificate", "revoked": "Revoked certificate",
                 "unknown": "Unknown certificate"}
LOGIN_URL = "/login"
TOKEN_ROLES = (Member.Role.LAB, Member.Role.VENDOR)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    cert_id = request.GET.get("id", "").strip()
    if cert_id and len(cert_id) <= services.MAX_ID_LENGTH and "/" not in cert_id:
        return redirect("verify", cert_id=cert_id)
    return render(request, "index.html")


NOT_YOURS_TO_REVOKE = ("Only the lab that issued a certificate can revoke it. Registry administrators can revoke "
                      "any certificate.")


def _can_revoke(request: HttpRequest, record) -> bool:
    """The same rule as services.revoke_certificate: an administrator, or an assessor of the issuing lab."""
    member = services.role_of(request.user)
    if record is None or member is None:
        return False
    if member.role == Member.Role.ADMIN:
        return True
    return member.role == Member.Role.LAB and member.organisation_id == record.issuer_key.organisation_id


@require_GET
def verify(request: HttpRequest, cert_id: str) -> HttpResponse:
    status = services.certificate_status(cert_id)
    context = {"status": status, "title": STATUS_TITLES[status.status], "record": status.certificate,
               "revocation": status.revocation,
               "revoke_form": forms.RevokeForm() if status.revocation is None and _can_revoke(
                   request, status.certificate) else None}
    return render(request, "verify.html", context, status=404 if status.certificate is None else 200)


def _revoke_page(request: HttpRequest, status, form, confirm: bool, code: int = 200) -> HttpResponse:
    member = services.role_of(request.user)
    return render(request, "revoke.html", {"status": status, "record": status.certificate, "form": form,
                                           "confirm": confirm, "as_admin": member.role == Member.Role.ADMIN},
                  status=code)


@require_http_methods(["GET", "POST"])
@login_required(login_url=LOGIN_URL)
def revoke(request: HttpRequest, cert_id: str) -> HttpResponse:
    """Revoke a certificate in two steps: the reason (GET, from the verify page or this page's own form), then a
    confirmation page whose POST revokes. Open to the issuing lab's assessors and to registry administrators."""
    member = services.role_of(request.user)
    if member is None or member.role not in (Member.Role.LAB, Member.Role.ADMIN):
        return refused(request, NOT_YOURS_TO_REVOKE, 403)
    status = services.certificate_status(cert_id)
    if status.certificate is None:
        return refused(request, f"No certificate with id {cert_id} is registered.", 404)
    if not _can_revoke(request, status.certificate):
        return refused(request, NOT_YOURS_TO_REVOKE, 403)
    if status.revocation is not None:
        return refused(request, f"This certificate was already revoked on {status.revocation.date.isoformat()}.",
                       409)
    if request.method == "GET":
        if "reason" not in request.GET or "edit" in request.GET:  # first visit, or back to change the reason
            form = forms.RevokeForm(initial={"reason": request.GET.get("reason", "")[:1000]})
            return _revoke_page(request, status, form, confirm=False)
        form = forms.RevokeForm(request.GET)
        if not form.is_valid():
            return _revoke_page(request, status, form, confirm=False, code=400)
        return _revoke_page(request, status, form, confirm=True)
    form = forms.RevokeForm(request.POST)
    if not form.is_valid():
        return _revoke_page(request, status, form, confirm=False, code=400)
    try:
        services.revoke_certificate(request.user, cert_id, form.cleaned_data["reason"])
    except services.RegistryError as exc:
        return refused(request, str(exc), exc.status)
    messages.success(request, "The certificate is now revoked. Everyone who checks this label is told so, with "
                              "your reason.")
    return redirect("verify", cert_id=cert_id)


@require_http_methods(["GET", "POST"])
@login_required(login_url=LOGIN_URL)
def upload(request: HttpRequest) -> HttpResponse:
    """Lab assessors upload a signed certificate and its assessment (the same checks as the API)."""
    member = services.role_of(request.user)
    if member is None or member.role != Member.Role.LAB:
        return refused(request, "Only lab assessors can upload certificates.", 403)
    form, result, error, status = forms.UploadForm(), None, "", 200
    if request.method == "POST":
        form = forms.UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            error, status = "; ".join(e for errors in form.errors.values() for e in errors), 400
        else:
            try:
                record, created = services.upload_certificate(request.user, form.cleaned_data["certificate"],
                                                              form.cleaned_data["assessment"],
                                                              bundle_json=form.cleaned_data["bundle"] or None)
                result, status = {"record": record, "created": created}, 201 if created else 200
            except services.RegistryError as exc:
                error, status = str(exc), exc.status
    return render(request, "upload.html", {"form": form, "result": result, "error": error}, status=status)


def _token_user(request: HttpRequest) -> HttpResponse | None:
    member = services.role_of(request.user)
    if member is None or member.role not in TOKEN_ROLES:
        return refused(request, "API tokens are for lab assessors and vendor members.", 403)
    return None


@require_http_methods(["GET", "POST"])
@login_required(login_url=LOGIN_URL)
def tokens(request: HttpRequest) -> HttpResponse:
    """A user's own API tokens: create one (shown once) or revoke one."""
    refusal = _token_user(request)
    if refusal is not None:
        return refusal
    new_token, form = None, forms.TokenCreateForm()
    if request.method == "POST":
        form = forms.TokenCreateForm(request.POST)
        if not form.is_valid():
            return refused(request, "A token name has at most 100 characters.", 400)
        new_token = services.issue_token(request.user, form.cleaned_data["name"])
        form = forms.TokenCreateForm()
    return render(request, "tokens.html", {"tokens": services.tokens_of(request.user), "form": form,
                                           "new_token": new_token})


@require_POST
@login_required(login_url=LOGIN_URL)
def token_revoke(request: HttpRequest) -> HttpResponse:
    refusal = _token_user(request)
    if refusal is not None:
        return refusal
    form = forms.TokenRevokeForm(request.POST)
    if not form.is_valid():
        return refused(request, "No token was chosen.", 400)
    # Only the user's own tokens are found; anyone else's id is simply not there.
    token = ApiToken.objects.filter(pk=form.cleaned_data["token"], user=request.user).first()
    if token is None:
        return refused(request, "You have no such token.", 404)
    try:
        services.revoke_token(token, actor=request.user)
    except services.RegistryError as exc:
        return refused(request, str(exc), exc.status)
    return redirect("account-tokens")
