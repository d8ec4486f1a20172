"""WSGI entry point (waitress, gunicorn, uwsgi): `iotmark.registry.wsgi:application`."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iotmark.registry.settings")

from iotmark.registry.fastpath import registry_application  # noqa: E402

application = registry_application()
