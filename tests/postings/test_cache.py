import pytest

from postings import services
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
    assert b"Newly approved posting" in fresh.content and first.pk


def test_signed_in_users_and_errors_are_never_cached(client):
    PostingFactory()
    client.get("/postings/?min_pay=abc")
    assert "X-Cache" not in client.get("/postings/?min_pay=abc")  # a 400 is not stored
    client.force_login(StudentFactory())
    client.get("/postings/")
    assert "X-Cache" not in client.get("/postings/")
