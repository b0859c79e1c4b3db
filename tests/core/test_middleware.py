"""UserTimezoneMiddleware: each request renders in the viewer's zone, and only that request."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone

from marketplace.core.middleware import UserTimezoneMiddleware


def _zone_during(user) -> str:
    seen = {}

    def view(request):
        seen["zone"] = timezone.get_current_timezone_name()
        return "response"

    request = RequestFactory().get("/")
    request.user = user
    assert UserTimezoneMiddleware(view)(request) == "response"
    return seen["zone"]


def test_the_viewers_zone_is_active_while_the_request_renders():
    assert _zone_during(SimpleNamespace(time_zone="America/Toronto")) == "America/Toronto"
    # ...and not after it: the next request in this thread starts from UTC.
    assert timezone.get_current_timezone_name() == "UTC"


def test_anonymous_viewers_and_unknown_zones_get_utc():
    assert _zone_during(AnonymousUser()) == "UTC"
    assert _zone_during(SimpleNamespace(time_zone="Mars/Olympus_Mons")) == "UTC"
    assert _zone_during(SimpleNamespace(time_zone="")) == "UTC"


def test_the_zone_is_reset_even_when_the_view_fails():
    def view(request):
        raise RuntimeError("boom")

    request = RequestFactory().get("/")
    request.user = SimpleNamespace(time_zone="Asia/Tokyo")
    with pytest.raises(RuntimeError):
        UserTimezoneMiddleware(view)(request)
    assert timezone.get_current_timezone_name() == "UTC"
