"""Links work on any address: pages answered on another port link to that port (issue: a site
on 127.0.0.1:8765 linked to 8000). E-mails sent by the worker: see test_serve.py."""

import re

import pytest
from django.urls import reverse

from notifications import services as notification_services
from tests.applications.factories import accepted_assignment, active_assignment
from tests.payments.factories import employer_of

pytestmark = pytest.mark.django_db

HOST = "127.0.0.1:8765"  # not SITE_URL's port


def test_dashboard_and_calendar_feed_link_to_the_port_they_are_visited_on(client, settings):
    assert HOST not in settings.SITE_URL
    assignment = active_assignment()
    student = assignment.student
    client.force_login(student)
    html = client.get(reverse("dashboard"), HTTP_HOST=HOST).content.decode()
    token = notification_services.notification_settings_get(user=student).calendar_token
    feed = reverse("notifications:calendar_feed", args=[token])
    assert f'value="http://{HOST}{feed}"' in html
    assert f"webcal://{HOST}{feed}" in html

    ics = client.get(feed, HTTP_HOST=HOST).content.decode().replace("\r\n ", "")
    urls = re.findall(r"^URL:(.*)\r$", ics, flags=re.M)
    assert urls, "the active assignment gives the student milestone deadlines"
    assert all(url.startswith(f"http://{HOST}/") for url in urls), urls


def test_the_test_checkout_returns_to_the_port_it_was_opened_on(client, settings):
    settings.STRIPE_SECRET_KEY = ""  # the offline test provider
    assignment = accepted_assignment()
    client.force_login(employer_of(assignment))
    started = client.post(reverse("payments:funding", args=[assignment.pk]), HTTP_HOST=HOST)
    assert started.status_code == 302
    checkout = client.get(started["Location"], HTTP_HOST=HOST).content.decode()
    cancel = re.search(r'<a href="([^"]+)">Cancel and go back</a>', checkout).group(1)
    assert cancel.startswith(f"http://{HOST}/payments/"), cancel


def test_links_outside_a_request_use_site_url(settings):
    from marketplace.core.links import absolute, site_url_for

    settings.SITE_URL = "https://marketplace.example.com"
    assert absolute("/postings/") == "https://marketplace.example.com/postings/"
    assert absolute("https://elsewhere.example/x") == "https://elsewhere.example/x"
    assert site_url_for("8765") == "http://127.0.0.1:8765"
    assert site_url_for("0.0.0.0:9000") == "http://127.0.0.1:9000"
    assert site_url_for("[::1]:8000") == "http://[::1]:8000"
    assert site_url_for("localhost:8001") == "http://localhost:8001"
