"""JSON API of the programme_site app: a django-ninja Router mounted at /api/v1/."""

from ninja import Router

router = Router(tags=["programme"])
