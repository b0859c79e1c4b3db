"""The site's URLs plus views that fail, for the error page tests."""

from django.core.exceptions import SuspiciousOperation
from django.urls import path

from marketplace.urls import handler400, handler403, handler404, handler500  # noqa: F401
from marketplace.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("a bug")


def suspicious(request):
    raise SuspiciousOperation("tampered")


urlpatterns = [
    path("test-errors/boom/", boom),
    path("test-errors/suspicious/", suspicious),
    path("api/test-errors/boom/", boom),
    path("api/test-errors/suspicious/", suspicious),
    *site_urlpatterns,
]
