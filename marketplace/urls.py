from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from credentials import views as credentials_views
from marketplace import metrics as business_metrics  # noqa: F401 - registers the numbers
from marketplace.core import health
from marketplace.core import views as core_views
from marketplace.core.metrics import metrics_view
from payments import webhooks as payments_webhooks

api_v1 = [
    path("", include("accounts.api")),
    path("", include("notifications.api")),
    path("", include("postings.api")),
    path("", include("applications.api")),
    path("", include("payments.api")),
    path("", include("credentials.api")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("csrf/", core_views.csrf, name="csrf"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("dashboard/", core_views.dashboard, name="dashboard"),
    path("postings/", include("postings.urls")),
    path("", include("applications.urls")),
    path("notifications/", include("notifications.urls")),
    path("payments/", include("payments.urls")),
    path("credentials/", include("credentials.urls")),
    path(".well-known/jwks.json", credentials_views.jwks, name="credentials-jwks"),
    path("webhooks/stripe/", payments_webhooks.stripe_webhook, name="stripe-webhook"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so no inline script is needed
    # and the Content Security Policy stays strict.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]
handler400 = "marketplace.core.views.bad_request"
handler403 = "marketplace.core.views.permission_denied"
handler404 = "marketplace.core.views.page_not_found"
handler500 = "marketplace.core.views.server_error"
