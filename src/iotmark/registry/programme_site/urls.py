"""Pages of the programme_site app (included at the site root by iotmark.registry.urls)."""

urlpatterns: list = []
