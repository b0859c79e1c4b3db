"""The site's URLs plus views that fail, for the error page tests."""

from django.core.exceptions import SuspiciousOperation
from django.urls import path

from marketplace.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("a bug")


def suspicious(request):
    raise SuspiciousOperation("tampered")


urlpatterns = [
    path("test-errors/boom/", boom),
    path("test-errors/suspicious/", suspicious),
    *site_urlpatterns,
]
