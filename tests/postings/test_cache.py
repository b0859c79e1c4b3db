import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from postings import services
from postings.models import Posting
from tests.factories import PostingFactory, StaffFactory, StudentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.POSTINGS_PAGE_CACHE_SECONDS = 60


@pytest.mark.parametrize("url", ["/postings/?page_size=5", "/api/v1/postings/?page_size=5"])
def test_anonymous_list_is_cached_until_a_posting_changes(
    client, django_assert_max_num_queries, django_capture_on_commit_callbacks, url
):
    first = PostingFactory(title="First posting of the list")
    response = client.get(url)
    assert response.status_code == 200 and "X-Cache" not in response
    with django_assert_max_num_queries(0):
        hit = client.get(url)
    assert hit["X-Cache"] == "hit"
    assert hit.content == response.content
    assert "Set-Cookie" not in str(hit.headers)

    pending = PostingFactory(title="Newly approved posting", status="pending_review")
    with django_capture_on_commit_callbacks(execute=True):
        services.posting_approve(posting=pending, actor=StaffFactory())
    fresh = client.get(url)
    assert "X-Cache" not in fresh
    assert b"Newly approved posting" in fresh.content
    assert first.title.encode() in fresh.content


@pytest.mark.parametrize("url", ["/postings/?page_size=5", "/api/v1/postings/?page_size=5"])
def test_a_closing_posting_leaves_the_cached_list_at_once(
    client, django_capture_on_commit_callbacks, url
):
    staying = PostingFactory(title="A posting that stays open")
    closing = PostingFactory(title="A posting about to close")
    assert closing.title.encode() in client.get(url).content
    assert client.get(url)["X-Cache"] == "hit"

    # The sweep closes it at its deadline (the page cache's timeout is a minute away).
    Posting.objects.filter(pk=closing.pk).update(
        application_deadline=timezone.now() - dt.timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.postings_close_due() == 1
    fresh = client.get(url)
    assert "X-Cache" not in fresh
    assert closing.title.encode() not in fresh.content
    assert staying.title.encode() in fresh.content


def test_signed_in_users_and_errors_are_never_cached(client):
    PostingFactory()
    client.get("/postings/?min_pay=abc")
    assert "X-Cache" not in client.get("/postings/?min_pay=abc")  # a 400 is not stored
    client.force_login(StudentFactory())
    client.get("/postings/")
    # Never the cached page itself (at most the content every visitor shares, see below).
    assert client.get("/postings/")["X-Cache"] == "shared"


def test_a_cached_page_carries_no_visitor_secret_and_each_visitor_can_post(settings):
    """The page is served from the cache to the second visitor; neither page holds a token,
    each visitor gets their own from the small uncached /csrf/ request (and its cookie), and
    each can post with it (a CSRF failure would be a 403), but not with the other's."""
    PostingFactory(title="A posting both visitors see")
    visitors = [Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)]
    pages = [visitor.get("/postings/") for visitor in visitors]
    assert "X-Cache" not in pages[0] and pages[1]["X-Cache"] == "hit"
    assert pages[0].content == pages[1].content
    tokens = []
    for visitor, page in zip(visitors, pages, strict=True):
        assert settings.CSRF_COOKIE_NAME not in page.cookies
        assert b"csrfmiddlewaretoken" not in page.content
        assert b"X-CSRFToken" not in page.content
        answer = visitor.get("/csrf/")
        assert "no-store" in answer["Cache-Control"]
        token = answer.json()["token"]
        cookie = visitor.cookies[settings.CSRF_COOKIE_NAME].value
        assert token.encode() not in page.content and cookie.encode() not in page.content
        tokens.append(token)
    assert visitors[0].cookies["csrftoken"].value != visitors[1].cookies["csrftoken"].value

    login = reverse("account_login")
    wrong = {"login": "nobody@example.com", "password": "not-the-password"}
    for visitor, token in zip(visitors, tokens, strict=True):
        answer = visitor.post(login, wrong, HTTP_X_CSRFTOKEN=token)
        assert answer.status_code == 200 and b"not correct" in answer.content
    swapped = visitors[0].post(login, wrong, HTTP_X_CSRFTOKEN=tokens[1])
    assert swapped.status_code == 403


def test_a_page_that_shows_a_token_or_message_is_not_stored(rf):
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse
    from django.middleware.csrf import get_token

    from postings.cache import cache_anonymous

    @cache_anonymous("test")
    def with_token(request):
        return HttpResponse(get_token(request))

    @cache_anonymous("test")
    def with_message(request):
        request._messages = CookieStorage(request)
        request._messages.add(20, "Saved, Ada.")
        return HttpResponse("A message for Ada")

    for view in (with_token, with_message):
        first = view(rf.get("/postings/"))
        second = view(rf.get("/postings/"))
        assert first.status_code == second.status_code == 200
        assert "X-Cache" not in second  # rendered again, never stored


def _main(page) -> str:
    html = page.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def test_signed_in_visitors_share_the_list_content_and_only_their_part_is_their_own(
    client, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    PostingFactory(title="Survey analysis for a food bank")
    url = "/postings/?compensation=paid"
    anonymous = Client().get(url)
    assert anonymous.status_code == 200 and "X-Cache" not in anonymous
    client.force_login(StudentFactory())
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    # Never the anonymous page itself, only the content shared with it.
    assert page.status_code == 200 and page["X-Cache"] == "shared"
    # The filters, the count and the cards came from the shared cache: no posting was read.
    assert not [q["sql"] for q in queries.captured_queries if "postings_posting" in q["sql"]]
    mine, theirs = _main(page), _main(anonymous)
    assert "Survey analysis for a food bank" in mine
    # The student's own part: the form to save the search, with the student's own token.
    assert 'name="csrfmiddlewaretoken"' in mine and "Save this search" in mine
    assert "csrfmiddlewaretoken" not in theirs and "Log in to save this search" in theirs
    form = re.search(r"\s*<form method=\"post\"[^>]*save-search.*?</form>\n", mine, re.S)
    login = re.search(r"\s*<p class=\"muted save-search\">.*?</p>\n", theirs, re.S)
    assert mine.replace(form.group(0), "") == theirs.replace(login.group(0), "")

    # A change to the postings shows to the signed-in visitor at once.
    with django_capture_on_commit_callbacks(execute=True):
        services.posting_approve(
            posting=PostingFactory(title="A newly approved one", status="pending_review"),
            actor=StaffFactory(),
        )
    assert "A newly approved one" in _main(client.get(url))


def test_the_shared_content_is_kept_per_time_zone(client):
    deadline = timezone.now().replace(hour=23, minute=30) + dt.timedelta(days=3)
    PostingFactory(application_deadline=deadline)
    client.force_login(StudentFactory(time_zone="UTC"))
    in_utc = _main(client.get("/postings/"))
    client.force_login(StudentFactory(time_zone="Asia/Tokyo"))
    in_tokyo = _main(client.get("/postings/"))
    assert f"{deadline:%-d %b %Y}" in in_utc
    assert f"{deadline + dt.timedelta(hours=9):%-d %b %Y}" in in_tokyo
    assert in_utc != in_tokyo


def test_an_anonymous_posting_page_is_cached_until_the_posting_changes(
    client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    posting = PostingFactory(title="Survey analysis for a food bank", openings=2)
    url = f"/postings/{posting.pk}/"
    first = client.get(url)
    assert first.status_code == 200 and "X-Cache" not in first
    with django_assert_max_num_queries(0):
        hit = client.get(url)
    assert hit["X-Cache"] == "hit" and hit.content == first.content
    assert b"csrfmiddlewaretoken" not in hit.content
    assert "Set-Cookie" not in str(hit.headers)

    # A seat taken is a change to the posting: the next visitor sees it at once.
    assert b"2 of 2" in hit.content
    with django_capture_on_commit_callbacks(execute=True):
        services.posting_seat_taken(posting=posting)
    fresh = client.get(url)
    assert "X-Cache" not in fresh and b"1 of 2" in fresh.content
    # Suspended, it is gone for anonymous visitors at once (a 404 is never stored).
    with django_capture_on_commit_callbacks(execute=True):
        services.posting_suspend(posting=posting, actor=StaffFactory(), reason="Checking it.")
    assert client.get(url).status_code == 404
    assert client.get(url).status_code == 404
