"""Pages of the interop app (included at the site root by iotmark.registry.urls)."""

urlpatterns: list = []
