"""API throttling: per anonymous IP, per user, and tighter per-user rates for the writes that
cost others. A throttled request is a 429 with Retry-After and the documented error body."""

import copy

import pytest

from tests.factories import EmployerUserFactory, PostingFactory, StudentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Set some rates (the rest keep their defaults) for this test."""

    def set_rates(**new):
        rest = copy.deepcopy(settings.REST_FRAMEWORK)
        rest["DEFAULT_THROTTLE_RATES"].update(new)
        settings.REST_FRAMEWORK = rest

    return set_rates


def _assert_throttled(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["code"] == "throttled" and body["fields"] == {}
    assert "throttled" in body["message"].lower()


def test_anonymous_requests_are_throttled_per_ip(client, rates):
    rates(anon="3/min")
    url = f"/api/v1/postings/{PostingFactory().pk}/"
    for _ in range(3):
        assert client.get(url, REMOTE_ADDR="10.0.0.1").status_code == 200
    _assert_throttled(client.get(url, REMOTE_ADDR="10.0.0.1"))
    # A forged X-Forwarded-For does not open a new bucket...
    _assert_throttled(client.get(url, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4"))
    # ...but another address has its own.
    assert client.get(url, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_anonymous_requests_count_against_both_rates_of_their_ip(client, rates):
    # An anonymous request fills its IP's "anon" and "user" buckets; the fuller one refuses.
    rates(anon="5/min", user="2/min")
    url = f"/api/v1/postings/{PostingFactory().pk}/"
    for _ in range(2):
        assert client.get(url, REMOTE_ADDR="10.0.0.3").status_code == 200
    _assert_throttled(client.get(url, REMOTE_ADDR="10.0.0.3"))
    # The refused request was still counted in the bucket that had room: 3 of 5 now.
    rates(anon="5/min", user="100/min")
    for _ in range(2):
        assert client.get(url, REMOTE_ADDR="10.0.0.3").status_code == 200
    _assert_throttled(client.get(url, REMOTE_ADDR="10.0.0.3"))


def test_signed_in_requests_are_throttled_per_user(client, rates):
    rates(user="2/min")
    first, second = StudentFactory(), StudentFactory()
    client.force_login(first)
    for _ in range(2):
        assert client.get("/api/v1/me/").status_code == 200
    _assert_throttled(client.get("/api/v1/me/"))
    client.force_login(second)
    assert client.get("/api/v1/me/").status_code == 200


COVER = "I have done three survey analyses for small firms and would like to do this. " * 2


@pytest.mark.parametrize("scope", ["applications", "messages", "reports", "postings"])
def test_costly_writes_have_a_tighter_rate_and_reads_go_on(client, rates, scope):
    rates(**{scope: "2/hour"})
    student = StudentFactory()
    actor = EmployerUserFactory() if scope == "postings" else student
    client.force_login(actor)
    writes = {
        "applications": ("/api/v1/applications/", lambda: {"posting": PostingFactory().pk}),
        "messages": ("/api/v1/messages/", lambda: {"application": 0, "body": "Hello"}),
        "reports": (
            f"/api/v1/postings/{PostingFactory().pk}/reports/",
            lambda: {"reason": "spam"},
        ),
        "postings": ("/api/v1/postings/", lambda: {"title": ""}),
    }
    url, data = writes[scope]
    for _ in range(2):
        answer = client.post(url, data(), content_type="application/json")
        assert answer.status_code != 429
    _assert_throttled(client.post(url, data(), content_type="application/json"))
    # Reads are not counted against the write's scope.
    assert client.get("/api/v1/me/").status_code == 200
    # Another user has their own allowance.
    client.force_login(EmployerUserFactory() if scope == "postings" else StudentFactory())
    assert client.post(url, data(), content_type="application/json").status_code != 429


def test_other_writes_are_not_limited_by_the_costly_scopes(client, rates):
    rates(applications="1/hour", messages="1/hour", reports="1/hour", postings="1/hour")
    client.force_login(StudentFactory())
    for _ in range(3):
        answer = client.patch("/api/v1/me/", {"full_name": "Ada"}, content_type="application/json")
        assert answer.status_code == 200
