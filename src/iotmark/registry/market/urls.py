"""Pages of the market app (included at the site root by iotmark.registry.urls)."""

urlpatterns: list = []
