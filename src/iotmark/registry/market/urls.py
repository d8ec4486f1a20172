"""Pages of the market app (included at the site root by iotmark.registry.urls)."""

from django.urls import path

from iotmark.registry.market import vendor_views, views

urlpatterns = [
    path("products", views.products, name="market-products"),
    path("compare", views.compare, name="market-compare"),
    path("vendors", views.vendors, name="market-vendors"),
    path("vendors/<int:vendor_id>", views.vendor_scorecard, name="market-vendor-scorecard"),
    path("vendor", vendor_views.home, name="market-vendor-home"),
    path("vendor/profile", vendor_views.profile, name="market-vendor-profile"),
    path("vendor/products/new", vendor_views.product_new, name="market-vendor-product-new"),
    path("vendor/products/<int:product_id>", vendor_views.product, name="market-vendor-product"),
    path("vendor/products/<int:product_id>/firmware", vendor_views.firmware, name="market-vendor-firmware"),
    path("vendor/vulnerabilities/new", vendor_views.report, {"kind": "vulnerability"},
         name="market-vendor-vulnerability-new"),
    path("vendor/vulnerabilities/<int:report_id>", vendor_views.report, {"kind": "vulnerability"},
         name="market-vendor-vulnerability"),
    path("vendor/incidents/new", vendor_views.report, {"kind": "incident"}, name="market-vendor-incident-new"),
    path("reports/overdue", vendor_views.overdue, name="market-overdue"),
    path("vendor/incidents/<int:report_id>", vendor_views.report, {"kind": "incident"},
         name="market-vendor-incident"),
]
