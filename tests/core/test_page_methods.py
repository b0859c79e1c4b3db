"""Every page answers 405 (with ``Allow``) to the methods it does not support, generated from the
URL conf: a page route without an entry here fails the test.

The method is checked before anything else (log-in, role, the object), so an anonymous visitor
with made-up ids is enough, and a method a page does support is never a 405. The API (DRF
answers 405 itself), Django's admin and allauth's account pages (``/accounts/``, its own
class-based views) are outside this test.
"""

import uuid

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter

pytestmark = pytest.mark.django_db

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SHOW = {"GET", "HEAD"}  # a page, a download, a feed
FORM = {"GET", "HEAD", "POST"}  # a page with a form that posts back to it
ACT = {"POST"}  # an action a form posts to; it has no page of its own
OUTSIDE = ("admin/", "api/", "accounts/")

PAGES = {
    # marketplace.core
    "home": SHOW,
    "favicon": SHOW,
    "healthz": SHOW,
    "readyz": SHOW,
    "metrics": SHOW,
    "csrf": SHOW,
    "dashboard": SHOW,
    # accounts
    "accounts:profile": FORM,
    "accounts:organisation": SHOW,
    "accounts:organisation_edit": FORM,
    "accounts:invite": ACT,
    "accounts:employer_detail": SHOW,
    "accounts:employer_logo": SHOW,
    "accounts:invitation": FORM,
    "accounts:settings": FORM,
    "accounts:token_create": ACT,
    "accounts:token_revoke": ACT,
    # postings
    "postings:list": SHOW,
    "postings:create": FORM,
    "postings:preview": ACT,
    "postings:mine": SHOW,
    "postings:formats": SHOW,
    "postings:saved_searches": FORM,
    "postings:saved_search_delete": ACT,
    "postings:moderation": SHOW,
    "postings:detail": SHOW,
    "postings:edit": FORM,
    "postings:submit": ACT,
    "postings:withdraw": ACT,
    "postings:duplicate": ACT,
    "postings:report": FORM,
    "postings:moderate": ACT,
    # applications
    "applications:apply": FORM,
    "applications:mine": SHOW,
    "applications:detail": SHOW,
    "applications:message": ACT,
    "applications:cv": SHOW,
    "applications:move": ACT,
    "applications:employer_postings": SHOW,
    "applications:pipeline": SHOW,
    "applications:assignments": SHOW,
    "applications:assignment": SHOW,
    "applications:cancel": ACT,
    "applications:rate": ACT,
    "applications:record_visibility": ACT,
    "applications:reinvite": FORM,
    "applications:submit": FORM,
    "applications:milestone_status": SHOW,
    "applications:milestone_move": ACT,
    "applications:file": SHOW,
    "applications:record": SHOW,
    "applications:disputes": SHOW,
    # notifications
    "notifications:inbox": SHOW,
    "notifications:open": SHOW,
    "notifications:read": ACT,
    "notifications:read_all": ACT,
    "notifications:preferences": FORM,
    # RFC 8058 one-click unsubscribe posts here; the link in the e-mail opens the page.
    "notifications:unsubscribe": {"GET", "POST"},
    "notifications:calendar_feed": {"GET"},
    "notifications:calendar_regenerate": ACT,
    # payments
    "payments:funding": FORM,
    "payments:funding_return": SHOW,
    "payments:receipt": SHOW,
    "payments:receipt_pdf": SHOW,
    "payments:payout_account": SHOW,
    "payments:payout_account_onboard": ACT,
    "payments:payout_account_refresh": SHOW,  # the provider sends the student here
    "payments:payout_account_return": SHOW,
    "payments:billing": SHOW,
    "payments:billing_csv": SHOW,
    "payments:earnings": SHOW,
    "payments:earnings_csv": SHOW,
    "payments:staff_money": SHOW,
    "payments:staff_payouts_csv": SHOW,
    "payments:staff_fundings_csv": SHOW,
    "payments:test_checkout": FORM,
    "payments:test_onboarding": FORM,
    "stripe-webhook": ACT,
    # credentials
    "credentials:mine": SHOW,
    "credentials:verify": FORM,
    "credentials:issuer": SHOW,
    "credentials:status_list": SHOW,
    "credentials:supervisor": FORM,
    "credentials:name_supervisor": ACT,
    "credentials:detail": SHOW,
    "credentials:download_json": SHOW,
    "credentials:download_jwt": SHOW,
    "credentials:visibility": ACT,
    "credentials:rating": ACT,
    "credentials:revoke": ACT,
    "credentials-jwks": SHOW,
}


def _page_routes() -> dict[str, dict[str, object]]:
    """URL name -> made-up keyword arguments, for every route outside ``OUTSIDE``."""

    def value(converter):
        if isinstance(converter, IntConverter):
            return 987654321
        if isinstance(converter, UUIDConverter):
            return uuid.UUID(int=7)
        return "made-up"

    def walk(patterns, prefix="", namespace=None):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif not (prefix + str(p.pattern)).startswith(OUTSIDE):
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                converters = getattr(p.pattern, "converters", {})
                yield name, {key: value(c) for key, c in converters.items()}

    return dict(walk(get_resolver().url_patterns))


def test_every_page_route_has_an_entry():
    routes = _page_routes()
    assert None not in routes, "every page route needs a name"
    assert sorted(set(routes) - set(PAGES)) == [], "new pages: add them to PAGES"
    assert sorted(set(PAGES) - set(routes)) == [], "pages gone: remove them from PAGES"


def test_a_page_answers_405_to_the_methods_it_does_not_support(client):
    problems = []
    for name, kwargs in sorted(_page_routes().items()):
        url = reverse(name, kwargs=kwargs)
        allowed = PAGES[name]
        for method in METHODS:
            response = client.generic(method, url)
            got = response.status_code
            if method in allowed and got == 405:
                problems.append(f"{method} {url}: 405, but the page supports it")
            elif method not in allowed:
                if got != 405:
                    problems.append(f"{method} {url}: {got}, expected 405")
                elif set(response.get("Allow", "").split(", ")) != allowed:
                    problems.append(f"{method} {url}: Allow {response.get('Allow')!r}")
    assert problems == [], "\n".join(problems)
