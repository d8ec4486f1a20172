from django.apps import AppConfig


class ProgrammeSiteConfig(AppConfig):
    name = "iotmark.registry.programme_site"
    label = "programme_site"
    default_auto_field = "django.db.models.BigAutoField"
