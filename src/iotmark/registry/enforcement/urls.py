"""Pages of the enforcement app (included at the site root by iotmark.registry.urls)."""

from django.urls import path

from iotmark.registry.enforcement import views

urlpatterns = [
    path("cases", views.cases, name="enforcement-cases"),
    path("cases/new", views.case_new, name="enforcement-case-new"),
    path("cases/<int:case_id>", views.case_detail, name="enforcement-case"),
    path("cases/<int:case_id>/notify", views.case_notify, name="enforcement-case-notify"),
    path("cases/<int:case_id>/respond", views.case_respond, name="enforcement-case-respond"),
    path("cases/<int:case_id>/outcome", views.case_outcome, name="enforcement-case-outcome"),
    path("cases/<int:case_id>/close", views.case_close, name="enforcement-case-close"),
    path("incidents", views.incidents, name="enforcement-incidents"),
    path("incidents/import", views.incident_import, name="enforcement-incident-import"),
    path("incidents/<str:incident_id>", views.incident_detail, name="enforcement-incident"),
    path("incidents/<str:incident_id>/attribute", views.incident_attribute, name="enforcement-incident-attribute"),
    path("incidents/<str:incident_id>/unattribute", views.incident_unattribute,
         name="enforcement-incident-unattribute"),
    path("vendors/<int:org_id>/record", views.vendor_record, name="enforcement-vendor-record"),
]
