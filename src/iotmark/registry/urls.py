from django.contrib import admin
from django.urls import include, path

from iotmark.registry import views
from iotmark.registry.api import api

urlpatterns = [
    path("", views.index, name="index"),
    path("verify/<str:cert_id>", views.verify, name="verify"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("iotmark.registry.market.urls")),
    path("", include("iotmark.registry.enforcement.urls")),
    path("", include("iotmark.registry.interop.urls")),
    path("", include("iotmark.registry.programme_site.urls")),
]
