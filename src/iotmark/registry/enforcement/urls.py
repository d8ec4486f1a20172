"""Pages of the enforcement app (included at the site root by iotmark.registry.urls)."""

urlpatterns: list = []
