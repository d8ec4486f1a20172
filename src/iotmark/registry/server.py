"""Run the registry: apply migrations, then serve it with waitress (a production WSGI server, pure Python).

Static files for the admin are not served here; put a web server or whitenoise in front for those.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

SETTINGS_MODULE = "iotmark.registry.settings"


def setup_django(database_url: str | None = None) -> None:
    """Configure Django once; a database URL given here overrides IOTMARK_DATABASE_URL."""
    if database_url:
        os.environ["IOTMARK_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def serve(host: str = "127.0.0.1", port: int = 8000, threads: int = 8, database_url: str | None = None) -> None:
    """Apply migrations and serve the registry until interrupted."""
    setup_django(database_url)
    migrate()
    from django.core.wsgi import get_wsgi_application
    from waitress import serve as waitress_serve

    log.warning("iotmark registry listening on http://%s:%d/", host, port)
    waitress_serve(get_wsgi_application(), host=host, port=port, threads=threads, ident="iotmark-registry")
