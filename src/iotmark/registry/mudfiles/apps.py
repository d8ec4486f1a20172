from django.apps import AppConfig


class MudFilesConfig(AppConfig):
    name = "iotmark.registry.mudfiles"
    label = "mudfiles"
    default_auto_field = "django.db.models.BigAutoField"
