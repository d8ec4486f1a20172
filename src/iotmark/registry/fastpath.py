"""The verify API answered in front of Django's request handler.

GET /api/v1/certificates/{id}/verify is the target of every label's QR code, so it is the registry's busiest
request, and it is public, read-only and cookie-less: sessions, CSRF, authentication and messages have nothing to do
for it, yet Django's handler and middleware stack cost more per request than the answer itself (0.45 ms of 0.85 ms
of server CPU under 50 clients, measured with benchmarks/registry.py). This WSGI wrapper answers that one URL with
the same view function (`api.verify_answer`) and passes the request and response through the middlewares that shape
them (security headers, HTTPS redirect; the NUL-character guard; X-Frame-Options); every other request goes to
Django unchanged. Host header validation, database connection upkeep and error logging are done as Django's handler
does them. When the deployment's settings use middleware this module does not know, or settings that would change
the answer (PREPEND_WWW, DISALLOWED_USER_AGENTS), the wrapper steps aside and Django answers everything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.http import HttpResponse, JsonResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.log import log_response

from iotmark.registry.nul_guard import RejectNulCharacters

PREFIX, SUFFIX = "/api/v1/certificates/", "/verify"
# Middleware that does nothing for a public, cookie-less GET of a valid URL, and the middleware whose work is
# redone here; anything else in settings.MIDDLEWARE turns the fast path off.
_NOTHING_TO_DO = {
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",  # only PREPEND_WWW / user agents / slashes, checked below
    "django.middleware.csrf.CsrfViewMiddleware",  # GET is a safe method
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
}
_REDONE = {
    "django.middleware.security.SecurityMiddleware": SecurityMiddleware,
    "iotmark.registry.nul_guard.RejectNulCharacters": RejectNulCharacters,
    "django.middleware.clickjacking.XFrameOptionsMiddleware": XFrameOptionsMiddleware,
}
log = logging.getLogger("django.request")


def fast_path_applies() -> bool:
    """Whether this deployment's settings let the wrapper answer verify requests itself."""
    known = _NOTHING_TO_DO | set(_REDONE)
    return (all(name in known for name in settings.MIDDLEWARE) and not settings.PREPEND_WWW
            and not settings.DISALLOWED_USER_AGENTS)


def _unused(request):  # the middlewares below are only asked for their request and response hooks
    raise AssertionError("not called")


class VerifyFastPath:
    """WSGI application: the verify API's answer, else the wrapped Django application."""

    def __init__(self, django_app: Callable) -> None:
        from iotmark.registry.api import verify_answer

        self.django_app = django_app
        self.view = verify_answer
        self.enabled = fast_path_applies()
        middleware = [_REDONE[name](_unused) for name in settings.MIDDLEWARE if name in _REDONE]
        # Each middleware's hooks (None where it has none), in settings order.
        self.request_hooks = [getattr(m, "process_request", None) for m in middleware]
        self.response_hooks = [getattr(m, "process_response", None) for m in middleware]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not (self.enabled and path.startswith(PREFIX) and path.endswith(SUFFIX)
                and environ.get("REQUEST_METHOD") in ("GET", "HEAD")):
            return self.django_app(environ, start_response)
        request = WSGIRequest(environ)  # decodes the path as Django does (UTF-8, broken bytes re-percented)
        cert_id = request.path_info[len(PREFIX):-len(SUFFIX)]
        if not cert_id or "/" in cert_id:
            return self.django_app(environ, start_response)
        response = self._answer(request, cert_id)
        headers = [*response.items(), *(("Set-Cookie", cookie.output(header="")) for cookie in
                                        response.cookies.values())]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [response.content]

    def _answer(self, request: WSGIRequest, cert_id: str) -> HttpResponse:
        # The signals Django's handler sends around each request: their receivers keep the database connections
        # (CONN_MAX_AGE, health) and the DEBUG query log as for any other request.
        request_started.send(sender=self.__class__, environ=request.environ)
        try:
            # As in Django's chain: a middleware that answers the request itself (the HTTPS redirect) sends its
            # answer back through its own and the earlier middlewares' response hooks only.
            response, reached = None, len(self.request_hooks)
            for position, hook in enumerate(self.request_hooks):
                response = hook(request) if hook else None
                if response is not None:
                    reached = position + 1
                    break
            if response is None:
                request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it for every request
                response = self.view(request, cert_id)
                response.headers["Content-Length"] = str(len(response.content))  # as CommonMiddleware sets it
            for hook in reversed(self.response_hooks[:reached]):
                if hook:
                    response = hook(request, response)
            if response.status_code >= 400:
                log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
            return response
        except SuspiciousOperation as exc:  # a Host header not in ALLOWED_HOSTS
            logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
            return JsonResponse({"detail": "bad request"}, status=400)
        except Exception:
            log.exception("Internal Server Error: %s", request.path)
            return JsonResponse({"detail": "internal server error"}, status=500)
        finally:
            request_finished.send(sender=self.__class__)


def registry_application() -> Callable:
    """The registry's WSGI application: Django's, with the verify API answered in front of it."""
    from django.core.wsgi import get_wsgi_application

    return VerifyFastPath(get_wsgi_application())
