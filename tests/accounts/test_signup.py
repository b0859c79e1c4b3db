"""Sign-up with a role, mandatory e-mail verification, login, logout, password change and reset."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import Employer, Membership, StudentProfile, User
from marketplace.core.models import AuditLog
from tests.accounts.conftest import SIGNUP_URL, link_in_last_mail
from tests.factories import PASSWORD, StudentFactory

pytestmark = pytest.mark.django_db


def confirm_email(client):
    """Follow the verification link from the last e-mail: one click confirms (no extra page)."""
    path = link_in_last_mail(r"https?://\S+/accounts/confirm-email/\S+")
    response = client.get(path)
    assert response.status_code == 302
    return response


def test_student_signup_creates_profile_and_needs_verification(client, signup):
    response = signup()
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"

    user = User.objects.get(email="ada@example.com")
    assert user.role == User.Role.STUDENT
    assert user.full_name == "Ada Lovelace"
    assert StudentProfile.objects.filter(user=user).exists()
    assert not Membership.objects.filter(user=user).exists()
    assert AuditLog.objects.filter(action="user.signed_up", target_id=str(user.pk)).exists()

    # Mandatory verification: not logged in, and logging in sends you back to verify.
    assert client.get("/settings/").status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "Confirm" in mail.outbox[0].subject
    login = client.post("/accounts/login/", {"login": "ada@example.com", "password": PASSWORD})
    assert login["Location"] == "/accounts/confirm-email/"
    assert client.get("/settings/").status_code == 302

    # The link confirms and, in the browser that signed up, logs the user in.
    confirmed = confirm_email(client)
    assert EmailAddress.objects.get(user=user).verified
    assert confirmed["Location"] == "/dashboard/"
    assert client.get("/settings/").status_code == 200


def test_employer_signup_creates_organisation_with_owner(signup):
    response = signup(
        role="employer", email="boss@acme.example", organisation_name="  Acme Robotics "
    )
    assert response.status_code == 302
    user = User.objects.get(email="boss@acme.example")
    assert user.role == User.Role.EMPLOYER
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.employer.name == "Acme Robotics"
    assert membership.employer.verified is False
    assert not StudentProfile.objects.filter(user=user).exists()


def test_employer_signup_without_organisation_is_refused_beside_the_field(client, signup):
    response = signup(role="employer", organisation_name="")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["organisation_name"] == ["Employers need the organisation's name."]
    assert 'id="id_organisation_name_error"' in response.content.decode()
    assert not User.objects.exists()


def test_student_signup_ignores_an_organisation_name(signup):
    signup(role="student", organisation_name="Not mine")
    assert not Employer.objects.exists()


def test_taken_email_is_a_clear_form_error(signup):
    StudentFactory(email="ada@example.com")
    response = signup(email="ADA@example.com")
    assert response.status_code == 200
    errors = response.context["form"].errors["email"]
    assert "An account with this e-mail address exists already" in errors[0]
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short"),
        ("12345678901", "This password is entirely numeric"),
        ("password123", "This password is too common"),
    ],
)
def test_weak_password_is_a_clear_form_error(signup, password, message):
    response = signup(password1=password, password2=password)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors["password1"])
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_mismatched_passwords_and_overlong_name_are_form_errors(signup):
    response = signup(full_name="x" * 151, password2="something-else-entirely")
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Ensure this value has at most 150 characters (it has 151)." in errors["full_name"]
    assert errors["password2"]
    assert not User.objects.exists()


def test_overlong_organisation_name_and_bad_role_are_form_errors(signup):
    response = signup(role="employer", organisation_name="o" * 151)
    assert "at most 150 characters" in response.context["form"].errors["organisation_name"][0]
    response = signup(role="admin")
    assert "Select a valid choice" in response.context["form"].errors["role"][0]
    assert not User.objects.exists()


def test_signup_page_lists_the_role_choice_with_labels(client):
    html = client.get(SIGNUP_URL).content.decode()
    assert "<legend>I am signing up as:</legend>" in html
    assert '<label for="id_email">E-mail address:</label>' in html
    assert '<label for="id_role_1"><input type="radio" name="role" value="employer"' in html


def test_login_wrong_password_is_a_form_error_and_logout_works(client):
    user = StudentFactory(email="s@example.com")
    response = client.post("/accounts/login/", {"login": "s@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()

    response = client.post("/accounts/login/", {"login": "s@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/settings/").context["user"] == user
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/settings/").status_code == 302


def test_password_change(client):
    user = StudentFactory(email="s@example.com")
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "wrong", "password1": "a-new-secret-42", "password2": "a-new-secret-42"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["oldpassword"]

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "a-new-secret-42", "password2": "a-new-secret-42"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-secret-42")


def test_password_reset_by_emailed_link(client):
    user = StudentFactory(email="s@example.com")
    response = client.post("/accounts/password/reset/", {"email": "s@example.com"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["s@example.com"]
    path = link_in_last_mail(r"https?://\S+/accounts/password/reset/key/\S+")
    response = client.get(path, follow=True)  # allauth moves the key into the session
    assert response.status_code == 200
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else path
    response = client.post(
        form_path, {"password1": "brand-new-secret-7", "password2": "brand-new-secret-7"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-secret-7")


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302  # same answer as for a real account


def test_signup_form_errors_render_in_the_site_layout(client, signup):
    response = signup(email="not-an-email")
    html = response.content.decode()
    assert 'class="card auth-form"' in html
    assert '<ul class="errorlist" id="id_email_error"><li>Enter a valid email address.</li>' in html
    # The error follows its own field, not the top of the form.
    assert html.index('id="id_email"') < html.index('id="id_email_error"')


# --- Keeping the visitor's place, and the time zone -----------------------------------------


def test_next_survives_signup_confirmation_and_logs_in_on_confirm(client):
    from tests.accounts.conftest import signup_data

    target = "/applications/apply/42/"
    page = client.get(f"/accounts/login/?next={target}").content.decode()
    assert f'href="/accounts/signup/?next={target.replace("/", "%2F")}"' in page
    signup_page = client.get(f"{SIGNUP_URL}?next={target}").content.decode()
    assert f'name="next" value="{target}"' in signup_page
    response = client.post(SIGNUP_URL, {**signup_data(), "next": target})
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/settings/").status_code == 302  # not logged in before confirming

    confirmed = confirm_email(client)
    assert confirmed["Location"] == target
    assert client.get("/settings/").status_code == 200  # logged in by the link


def test_the_link_in_another_browser_confirms_but_opens_no_session(client, signup):
    from django.test import Client

    signup()
    other = Client()
    path = link_in_last_mail(r"https?://\S+/accounts/confirm-email/\S+")
    response = other.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert EmailAddress.objects.get(email="ada@example.com").verified
    assert other.get("/settings/").status_code == 302


def test_login_with_next_returns_to_it():
    from django.test import Client

    StudentFactory(email="ben@example.com")
    client = Client()
    response = client.post(
        "/accounts/login/?next=/postings/",
        {"login": "ben@example.com", "password": PASSWORD, "next": "/postings/"},
    )
    assert response["Location"] == "/postings/"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Europe/Lisbon", "Europe/Lisbon"),
        ("America/Argentina/Cordoba", "America/Argentina/Cordoba"),
        ("Mars/Olympus_Mons", "UTC"),
        ("", "UTC"),
    ],
)
def test_signup_takes_the_browsers_time_zone(signup, sent, kept):
    assert signup(time_zone=sent).status_code == 302
    assert User.objects.get(email="ada@example.com").time_zone == kept


def test_signup_page_has_the_hidden_time_zone_for_the_browser_to_fill(client):
    html = client.get(SIGNUP_URL).content.decode()
    assert '<input type="hidden" name="time_zone"' in html
    assert "accounts-signup.js" in html


def test_settings_offer_a_short_list_and_keep_an_unlisted_zone(client):
    import re

    user = StudentFactory(time_zone="America/Argentina/Cordoba")
    client.force_login(user)
    html = client.get("/settings/").content.decode()
    select = re.search(r'<select name="time_zone".*?</select>', html, flags=re.S).group(0)
    options = re.findall(r'<option value="([^"]+)"', select)
    assert 20 < len(options) < 60  # not the 600 raw names
    assert "Europe/Lisbon" in options and "UTC" in options
    assert re.search(r'<option value="America/Argentina/Cordoba" selected>', select)
    assert "<optgroup" in select
    saved = client.post("/settings/", {"full_name": "Ana", "time_zone": "Asia/Tokyo"})
    assert saved.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"
    refused = client.post("/settings/", {"full_name": "Ana", "time_zone": "Nowhere/City"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
