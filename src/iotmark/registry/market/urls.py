"""Pages of the market app (included at the site root by iotmark.registry.urls)."""

from django.urls import path

from iotmark.registry.market import views

urlpatterns = [
    path("products", views.products, name="market-products"),
    path("compare", views.compare, name="market-compare"),
]
