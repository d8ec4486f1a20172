"""JSON API of the interop app: a django-ninja Router mounted on the registry's API by iotmark.registry.api."""

from ninja import Router

router = Router(tags=["interop"])
