from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "iotmark.registry.market"
    label = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from iotmark.registry.market import listing

        listing.connect()
