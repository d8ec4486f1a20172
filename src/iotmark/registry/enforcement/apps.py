from django.apps import AppConfig


class EnforcementConfig(AppConfig):
    name = "iotmark.registry.enforcement"
    label = "enforcement"
    default_auto_field = "django.db.models.BigAutoField"
