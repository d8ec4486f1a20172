"""JSON API of the mudfiles app: a django-ninja Router mounted at /api/v1/."""

from ninja import Router

router = Router(tags=["mud"])
