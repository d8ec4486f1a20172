from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from iotmark.registry import documents, views
from iotmark.registry import api as api_module
from iotmark.registry.api import api

urlpatterns = [
    # The verify API's answer (a label's QR target, the busiest request), first so that it is resolved at once and
    # ahead of the API framework (see api.verify_answer).
    path("api/v1/certificates/<str:cert_id>/verify", api_module.verify_answer, name="api-verify-fast"),
    path("", views.index, name="index"),
    path("verify/<str:cert_id>", views.verify, name="verify"),
    path("verify/<str:cert_id>/revoke", views.revoke, name="certificate-revoke"),
    path("certificates/upload", views.upload, name="certificate-upload"),
    path("labels/<str:cert_id>.svg", documents.label_svg, name="label-svg"),
    path("labels/<str:cert_id>.png", documents.label_png, name="label-png"),
    path("reports/<str:cert_id>.html", documents.report_html, name="report-html"),
    path("account/tokens", views.tokens, name="account-tokens"),
    path("account/tokens/revoke", views.token_revoke, name="account-token-revoke"),
    path("", include("iotmark.registry.accounts.urls")),  # /login, throttled
    path("logout", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("iotmark.registry.market.urls")),
    path("", include("iotmark.registry.enforcement.urls")),
    path("", include("iotmark.registry.interop.urls")),
    path("", include("iotmark.registry.programme_site.urls")),
    path("", include("iotmark.registry.mudfiles.urls")),
]
