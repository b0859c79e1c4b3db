"""Safety from the start: a strict Content-Security-Policy everywhere, and rate limits on login,
sign-up and password reset (allauth's counters, kept in the cache, which is emptied per test)."""

import pytest

from accounts.models import User
from tests.accounts.conftest import signup_data
from tests.factories import PASSWORD, EmployerUserFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


def parse_csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_strict_csp(response, path):
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no CSP header on {path}"
    csp = parse_csp(header)
    assert csp["script-src"] == ["'self'"], path
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, path
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_csp_on_every_page(client):
    student = StudentFactory()
    owner = EmployerUserFactory()
    employer = owner.memberships.get().employer
    anonymous_pages = [
        "/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        f"/employers/{employer.pk}/",
        "/admin/login/",
        "/api/docs/",
        "/api/schema/",
        "/no-such-page/",  # 404
    ]
    for path in anonymous_pages:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert_strict_csp(response, path)

    client.force_login(student)
    for path in ["/dashboard/", "/profile/", "/settings/", "/organisation/"]:  # last one: 403
        response = client.get(path)
        assert response.status_code in (200, 403), path
        assert_strict_csp(response, path)

    client.force_login(owner)
    for path in ["/organisation/", f"/organisation/{employer.pk}/edit/", "/api/v1/me/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_csp(response, path)

    client.force_login(StaffFactory())
    for path in ["/admin/", "/admin/accounts/employer/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_csp(response, path)


def test_pages_carry_no_inline_script(client):
    client.force_login(EmployerUserFactory())
    for path in ["/", "/accounts/signup/", "/organisation/", "/settings/"]:
        html = client.get(path).content.decode()
        assert "<script>" not in html, path
        assert " onclick=" not in html and ' style="' not in html, path


def test_repeated_failed_logins_for_one_address_are_refused(client):
    StudentFactory(email="victim@example.com")
    for _ in range(5):
        response = client.post(
            "/accounts/login/", {"login": "victim@example.com", "password": "guess"}
        )
        assert "not correct" in response.content.decode()
    # Now even the right password is refused for a while.
    response = client.post(
        "/accounts/login/", {"login": "victim@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failed_logins_from_one_ip_are_refused(client):
    StudentFactory(email="last@example.com")
    for n in range(10):
        client.post("/accounts/login/", {"login": f"user{n}@example.com", "password": "guess"})
    response = client.post("/accounts/login/", {"login": "last@example.com", "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_another_ip_is_not_affected(client):
    StudentFactory(email="mine@example.com")
    for n in range(10):
        client.post(
            "/accounts/login/",
            {"login": f"user{n}@example.com", "password": "guess"},
            REMOTE_ADDR="203.0.113.9",
        )
    response = client.post(
        "/accounts/login/",
        {"login": "mine@example.com", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 302


def test_repeated_signups_from_one_ip_are_refused(client):
    for n in range(20):
        response = client.post(
            "/accounts/signup/", signup_data(email=f"s{n}@example.com", password2="mismatch")
        )
        assert response.status_code == 200
    response = client.post("/accounts/signup/", signup_data(email="real@example.com"))
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert_strict_csp(response, "429")
    assert not User.objects.filter(email="real@example.com").exists()


def test_repeated_password_resets_for_one_address_are_refused(client):
    StudentFactory(email="s@example.com")
    for _ in range(5):
        assert (
            client.post("/accounts/password/reset/", {"email": "s@example.com"}).status_code == 302
        )
    response = client.post("/accounts/password/reset/", {"email": "s@example.com"})
    assert response.status_code == 429
