"""The sign-in pages speak the site's language: "Log in" (never "Sign In"), one spelling of
"e-mail", sentence case in headings and buttons."""

import re
from html import unescape

import pytest
from django.urls import reverse

from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

MAIN = re.compile(r"<main[^>]*>(.*?)</main>", re.S)


def visible_text(html: str) -> str:
    """The words a reader sees in the page's main part (tags, scripts and attributes dropped),
    plus the button and field labels given as attribute values."""
    main = MAIN.search(html).group(1)
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    values = " ".join(re.findall(r'<(?:input|button)[^>]*type="submit"[^>]*value="([^"]*)"', main))
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main) + " " + values).split())


ANONYMOUS = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
]
SIGNED_IN = ["account_logout", "account_change_password", "account_email"]


def _pages(client):
    for name in ANONYMOUS:
        yield name, client.get(reverse(name)).content.decode()
    client.force_login(StudentFactory())
    for name in SIGNED_IN:
        yield name, client.get(reverse(name)).content.decode()


def test_sign_in_pages_use_the_sites_wording(client):
    seen = []
    for name, html in _pages(client):
        text = visible_text(html)
        seen.append(name)
        assert not re.search(r"\bsign[ -]?in\b", text, re.I), (name, text)
        assert not re.search(r"\bsign[ -]?out\b", text, re.I), (name, text)
        assert not re.search(r"\b[Ee]mail\b|E-Mail", text), (name, text)
        for heading in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", MAIN.search(html).group(1), re.S):
            words = unescape(re.sub(r"<[^>]+>", "", heading)).split()
            # Sentence case: after the first word, no capital unless it is a name.
            capitals = [w for w in words[1:] if w[:1].isupper() and w not in {"Micro-internships"}]
            assert capitals == [], (name, heading)
    assert len(seen) == len(ANONYMOUS) + len(SIGNED_IN)


def test_the_log_in_page_says_log_in(client):
    html = client.get(reverse("account_login")).content.decode()
    text = visible_text(html)
    assert "Log in" in text
    assert re.search(r"<button[^>]*>\s*Log in\s*</button>", html)
