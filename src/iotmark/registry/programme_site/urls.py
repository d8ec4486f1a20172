"""Pages of the programme_site app (included at the site root by iotmark.registry.urls)."""

from django.urls import path

from iotmark.registry.programme_site import views

urlpatterns = [
    path("programme", views.overview, name="programme-overview"),
    path("programme/maturity", views.maturity, name="programme-maturity"),
    path("programme/maturity/chart.png", views.maturity_chart, name="programme-maturity-chart"),
    path("programme/kpis", views.kpis, name="programme-kpis"),
    path("programme/board", views.board, name="programme-board"),
    path("programme/upload", views.upload, name="programme-upload"),
    path("programme/workspace.tar.gz", views.download, name="programme-download"),
]
