"""Requests carrying a NUL character are refused before any view sees them.

No field of the registry can hold U+0000: PostgreSQL text refuses it (a query with one fails with DataError, which
was a 500 answer, found by schemathesis in /api/v1/compare), and SQLite would store a value no page can show. So a
NUL in the path, in a query or form parameter, or in a JSON body (raw or as the escape \\u0000) is a 400 with one
line saying so, on every page and API operation alike. Uploaded files (multipart file parts) are not text fields and
are left to their own checks.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError

MESSAGE = "the request contains a NUL character (U+0000), which no field of the registry accepts"


def _in_fields(fields) -> bool:
    """Whether a parameter name or value of a QueryDict (GET or POST) holds a NUL."""
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in fields.lists())


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or _in_fields(request.GET):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = request.POST
        except (MultiPartParserError, OSError):
            return False  # the view reports a broken form as it always has
        return _in_fields(form)
    if content_type == "application/json" or content_type.endswith("+json"):
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
    return False


class RejectNulCharacters:
    """Django middleware: 400 for a request with a NUL character in a text field (JSON for the API)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.process_request(request) or self.get_response(request)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if not _has_nul(request):
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": MESSAGE}, status=400)
        return HttpResponseBadRequest(MESSAGE + "\n", content_type="text/plain; charset=utf-8")
