"""Pages of the accounts app (included at the site root by iotmark.registry.urls)."""

from django.urls import path

from iotmark.registry.accounts import views

urlpatterns = [
    path("login", views.login, name="login"),
]
