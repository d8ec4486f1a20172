"""WSGI entry point (waitress, gunicorn, uwsgi): `iotmark.registry.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iotmark.registry.settings")
application = get_wsgi_application()
