"""UserTimezoneMiddleware: each request renders in the viewer's zone, and only that request."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
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


@pytest.mark.django_db
def test_a_form_sent_by_the_upload_script_gets_its_redirect_as_json(client):
    """uploads.js cannot stop its request from following a redirect (the page, and its one-time
    message, would be fetched by the script): it gets the address to send the browser to."""
    from tests.factories import EmployerUserFactory

    employer = EmployerUserFactory()
    client.force_login(employer)
    url = reverse("accounts:organisation_edit", args=[employer.memberships.get().employer_id])
    data = {"name": "Northwind", "website": "", "description": "Data work."}
    plain = client.post(url, data)
    assert plain.status_code == 302
    sent = client.post(url, data, HTTP_X_UPLOAD_PROGRESS="1")
    assert sent.status_code == 200
    assert sent.json() == {"redirect": plain["Location"]}
    # The "saved" message is still there for the page the browser goes to.
    assert "The organisation is saved." in client.get(plain["Location"]).content.decode()
    # A form with errors comes back as the page, for the script to show.
    invalid = client.post(url, {**data, "name": ""}, HTTP_X_UPLOAD_PROGRESS="1")
    assert invalid.status_code == 200 and invalid["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_file_inputs_carry_the_servers_limits(client, settings):
    from tests.factories import EmployerUserFactory

    settings.MAX_LOGO_BYTES = 12345
    employer = EmployerUserFactory()
    client.force_login(employer)
    url = reverse("accounts:organisation_edit", args=[employer.memberships.get().employer_id])
    html = client.get(url).content.decode()
    assert (
        'data-max-bytes="12345"' in html and 'data-extensions=".png,.jpg,.jpeg,.gif,.webp"' in html
    )
    assert "js/uploads.js" in html
