"""Pages of the interop app (included at the site root by iotmark.registry.urls)."""

from django.urls import path

from iotmark.registry.interop import views

urlpatterns = [
    path("records", views.record_list, name="interop-record-list"),
    path("records/<slug:source>/<str:record_id>", views.record_detail, name="interop-record-detail"),
]
