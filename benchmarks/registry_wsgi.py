"""The registry's WSGI application (the one `iotmark serve` runs: the verify API answered in front of Django's
handler, every other request by Django) plus a trivial JSON endpoint, /bench/ping, answered by Django through its
middleware stack like every page of the registry: the baseline the verify API is measured against. Run by
benchmarks/registry.py as

    python benchmarks/registry_wsgi.py PORT WORKERS THREADS

which serves it with the registry's own gunicorn settings (IOTMARK_DATABASE_URL names the database, already
migrated)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from iotmark.registry.server import gunicorn_options, run_gunicorn, setup_django  # noqa: E402

setup_django()  # the registry's URLconf below needs the apps loaded

from django.conf import settings  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402


def ping(request) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/ping", ping),
    path("", include("iotmark.registry.urls")),
]

if __name__ == "__main__":
    from django.db import connections

    from iotmark.registry.fastpath import registry_application

    port, workers, threads = (int(arg) for arg in sys.argv[1:4])
    settings.ROOT_URLCONF = __name__  # this module, already imported as __main__
    application = registry_application()  # the same WSGI application `iotmark serve` runs
    connections.close_all()
    run_gunicorn(application, gunicorn_options("127.0.0.1", port, workers, threads))
