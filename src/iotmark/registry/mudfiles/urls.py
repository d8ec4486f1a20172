"""Pages of the mudfiles app (included at the site root by iotmark.registry.urls)."""

from django.urls import path

from iotmark.registry.mudfiles import views

urlpatterns = [
    path("vendor/mud", views.vendor_mud, name="mud-vendor"),
    path("vendor/mud/signers", views.vendor_signer_add, name="mud-vendor-signer-add"),
    path("mud/<int:vendor_id>/<slug:slug>.json", views.mud_file, name="mud-file"),
    path("mud/<int:vendor_id>/<slug:slug>.p7s", views.mud_signature, name="mud-signature"),
    path("mud/<int:vendor_id>/<slug:slug>/v<int:version>.json", views.mud_version_file, name="mud-version-file"),
    path("mud/<int:vendor_id>/<slug:slug>/v<int:version>.p7s", views.mud_version_signature,
         name="mud-version-signature"),
    path("mud/<int:vendor_id>/<slug:slug>", views.mud_product, name="mud-product"),
]
