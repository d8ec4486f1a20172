from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "iotmark.registry"
    label = "registry"
    verbose_name = "iotmark registry"
    default_auto_field = "django.db.models.BigAutoField"
