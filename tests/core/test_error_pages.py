"""A crash or a malformed request gets a plain, styled page with no details, never a trace."""

import pytest
from django.test import Client


@pytest.fixture
def failing_site(settings):
    settings.ROOT_URLCONF = "tests.core.error_urls"
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_a_crash_answers_500_with_the_site_error_page(failing_site):
    response = failing_site.get("/test-errors/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "a bug" not in html and "Traceback" not in html
    assert 'href="/static/css/site.css"' in html
    assert "Content-Security-Policy" in response.headers


def test_a_suspicious_request_answers_400_with_the_site_error_page(failing_site):
    response = failing_site.get("/test-errors/suspicious/")
    assert response.status_code == 400
    html = response.content.decode()
    assert "This request could not be understood" in html
    assert "tampered" not in html


def test_an_unknown_host_is_refused_with_400(failing_site):
    response = failing_site.get("/healthz", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "This request could not be understood" in response.content.decode()
