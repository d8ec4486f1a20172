"""Pages of the mudfiles app (included at the site root by iotmark.registry.urls)."""

urlpatterns: list = []
