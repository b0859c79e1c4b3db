import re

import pytest
from django.core import mail

from tests.factories import PASSWORD

SIGNUP_URL = "/accounts/signup/"


def signup_data(**overrides) -> dict:
    data = {
        "role": "student",
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "organisation_name": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def link_in_last_mail(pattern: str = r"https?://\S+") -> str:
    """The first link in the most recent e-mail, as a path the test client can open."""
    body = mail.outbox[-1].body
    match = re.search(pattern, body)
    assert match, body
    return re.sub(r"^https?://[^/]+", "", match.group(0))


@pytest.fixture
def signup(client):
    def _signup(**overrides):
        return client.post(SIGNUP_URL, signup_data(**overrides))

    return _signup
