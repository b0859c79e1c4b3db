"""Personal API tokens (named, several, shown once, stored hashed, made only after a recent
log-in, revocable) and two-factor log-in (required for staff, offered to everyone)."""

import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from rest_framework.test import APIClient

from accounts.authentication import token_hash
from accounts.models import ApiToken
from tests.factories import PASSWORD, StaffFactory, StudentFactory

from .totp import totp

pytestmark = pytest.mark.django_db


def _log_in(client, user):
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return response


def test_a_token_is_made_after_a_log_in_shown_once_and_stored_hashed(client):
    user = StudentFactory()
    _log_in(client, user)
    page = client.post("/settings/tokens/", {"name": "Timesheet sync"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    key = page.context["new_key"]
    assert key in page.content.decode()
    token = ApiToken.objects.get(user=user)
    assert token.name == "Timesheet sync" and token.key_hash == token_hash(key)
    assert key not in str(ApiToken.objects.values().get())  # only the hash is stored
    settings_page = client.get("/settings/").content.decode()
    assert "Timesheet sync" in settings_page and key not in settings_page

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").json()["email"] == user.email
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_several_named_tokens_listed_and_revoked_one_by_one(client):
    user = StudentFactory()
    _log_in(client, user)
    keys = [client.post("/settings/tokens/", {"name": n}).context["new_key"] for n in "AB"]
    listed = client.get("/api/v1/tokens/").json()
    assert [t["name"] for t in listed] == ["B", "A"] and "key" not in listed[0]
    first = ApiToken.objects.get(name="A")
    assert client.post(f"/settings/tokens/{first.pk}/revoke/").status_code == 302
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {keys[0]}")
    assert api.get("/api/v1/me/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {keys[1]}")
    assert api.get("/api/v1/me/").status_code == 200
    # Revoking over the API with the token itself.
    second = ApiToken.objects.get(name="B")
    assert api.delete(f"/api/v1/tokens/{second.pk}/").status_code == 204
    assert api.get("/api/v1/me/").status_code == 401


def test_no_token_without_a_recent_log_in(client, settings):
    user = StudentFactory()
    client.force_login(user)  # a session with no log-in record: not recent
    response = client.post("/settings/tokens/", {"name": "Old session"})
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    answer = client.post("/api/v1/tokens/", {"name": "x"}, content_type="application/json")
    assert answer.status_code == 403 and answer.json()["code"] == "reauthentication_required"

    _log_in(client, user)
    with time_machine.travel(time.time() + settings.API_TOKEN_RECENT_LOGIN_SECONDS + 5):
        response = client.post("/settings/tokens/", {"name": "Later"})
        assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_the_api_makes_a_token_from_a_recent_session_but_not_from_a_token(client):
    user = StudentFactory()
    _log_in(client, user)
    made = client.post("/api/v1/tokens/", {"name": "CLI"}, content_type="application/json")
    assert made.status_code == 201
    key = made.json()["key"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    refused = api.post("/api/v1/tokens/", {"name": "More"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "reauthentication_required"
    assert ApiToken.objects.count() == 1


def test_another_users_token_is_a_404(client):
    owner, other = StudentFactory(), StudentFactory()
    _log_in(client, owner)
    client.post("/settings/tokens/", {"name": "Mine"})
    token = ApiToken.objects.get()
    client.force_login(other)
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


# --- Two-factor ------------------------------------------------------------------------------


def test_staff_without_two_factor_must_set_it_up_first(client):
    staff = StaffFactory(totp=False)
    _log_in(client, staff)
    for url in ("/", "/postings/moderation/", "/admin/", "/payments/staff/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/2fa/totp/activate/", url
    api = client.get("/api/v1/me/")
    assert api.status_code == 403 and api.json()["code"] == "mfa_required"
    # allauth asks for the password once more before it shows the secret.
    activate = client.get("/accounts/2fa/totp/activate/")
    assert activate["Location"].startswith("/accounts/reauthenticate/")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=staff, type="totp").exists()
    assert client.get("/admin/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


def test_staff_with_an_authenticator_log_in_with_a_code(client):
    staff = StaffFactory()
    secret = staff.totp_secret
    response = _log_in(client, staff)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302  # not in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    done = client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
    assert done.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_students_are_offered_two_factor_but_not_forced(client):
    student = StudentFactory()
    _log_in(client, student)
    assert client.get("/applications/").status_code == 200
    page = client.get("/settings/").content.decode()
    assert "/accounts/2fa/totp/activate/" in page
    assert not Authenticator.objects.exists()
