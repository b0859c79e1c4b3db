"""In a real browser: the first staff user (made as createsuperuser makes it) must set up an
authenticator app before any staff page, then logs in with a code. The test computes the codes
with the TOTP algorithm (RFC 6238) from the secret the page shows, as the app would."""

import time
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from accounts.models import User
from tests.accounts.totp import totp
from tests.e2e.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "first-staff@example.com"
PASSWORD = "a-strong-staff-secret-7"


def _press(page, button: str):
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def _path(page) -> str:
    return urlsplit(page.url).path


def test_staff_set_up_totp_and_log_in_with_it(page):
    staff = User.objects.create_superuser(EMAIL, PASSWORD, full_name="First Staff")
    EmailAddress.objects.create(user=staff, email=EMAIL, verified=True, primary=True)

    login(page, EMAIL, PASSWORD)
    page.goto("/postings/moderation/")
    # Sent to set up two-factor first; allauth asks for the password once more.
    assert "/accounts/reauthenticate/" in page.url
    page.locator("input[name=password]").fill(PASSWORD)
    _press(page, "Confirm")
    assert "/accounts/2fa/totp/activate/" in page.url
    secret = page.locator("#authenticator_secret").input_value()
    assert len(secret) >= 16
    page.locator("input[name=code]").fill(totp(secret))
    _press(page, "Activate")
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()

    page.goto("/postings/moderation/")
    assert _path(page) == "/postings/moderation/"

    # Log out and in again: the password alone is not enough.
    page.goto("/accounts/logout/")
    page.locator("#main").get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    login(page, EMAIL, PASSWORD)
    assert "/accounts/2fa/authenticate/" in page.url
    page.goto("/postings/moderation/")
    assert _path(page) != "/postings/moderation/"  # not in without the code
    page.goto("/accounts/2fa/authenticate/")
    # The code of the next 30-second step (one step of clock drift is allowed): the one used
    # to activate may not be used twice.
    page.locator("input[name=code]").fill(totp(secret, at=time.time() + 30))
    _press(page, "Log in")
    page.goto("/postings/moderation/")
    assert _path(page) == "/postings/moderation/"
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
