"""The site's URLs plus ``/bench/hello/``: the cheapest page through the same middleware."""

from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse("Hello", content_type="text/plain")


urlpatterns = [
    path("bench/hello/", hello),
    path("", include("marketplace.urls")),
]
