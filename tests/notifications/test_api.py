"""The notifications API: inbox with cursor pagination, mark read, preferences, calendar link."""

import pytest
from rest_framework.test import APIClient

from notifications.kinds import KINDS, kinds_for_roles
from notifications.models import Notification, NotificationSettings
from tests.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_needs_authentication():
    response = APIClient().get("/api/v1/notifications/")
    assert response.status_code in {401, 403}
    assert set(response.json()) == {"message", "code", "fields"}


def test_list_is_mine_newest_first_with_cursor_pages(api, user):
    for i in range(25):
        NotificationFactory(recipient=user, title=f"N{i:02d}")
    NotificationFactory(title="not mine")
    first = api.get("/api/v1/notifications/", {"page_size": 10}).json()
    assert [n["title"] for n in first["results"]] == [f"N{i:02d}" for i in range(24, 14, -1)]
    assert "cursor=" in first["next"]
    seen = [n["title"] for n in first["results"]]
    url = first["next"]
    while url:
        page = api.get(url).json()
        seen += [n["title"] for n in page["results"]]
        url = page["next"]
    assert seen == [f"N{i:02d}" for i in range(24, -1, -1)]
    item = first["results"][0]
    assert set(item) >= {"id", "kind", "kind_label", "title", "body", "link", "created_at"}
    assert item["is_read"] is False and item["kind_label"] == KINDS["posting.approved"]


def test_unread_filter_and_count(api, user):
    NotificationFactory.create_batch(2, recipient=user)
    NotificationFactory(recipient=user, read_at="2026-01-01T00:00Z")
    assert len(api.get("/api/v1/notifications/", {"unread": "true"}).json()["results"]) == 2
    assert len(api.get("/api/v1/notifications/").json()["results"]) == 3
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}


def test_mark_one_and_all_read(api, user):
    a, b, c = NotificationFactory.create_batch(3, recipient=user)
    response = api.post(f"/api/v1/notifications/{a.pk}/read/")
    assert response.status_code == 200 and response.json()["is_read"] is True
    assert Notification.objects.get(pk=a.pk).read_at is not None
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 0}


def test_another_users_notification_is_404(api):
    theirs = NotificationFactory()
    for method, url in [
        ("get", f"/api/v1/notifications/{theirs.pk}/"),
        ("post", f"/api/v1/notifications/{theirs.pk}/read/"),
    ]:
        response = getattr(api, method)(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    api.post("/api/v1/notifications/read-all/")
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_preferences_get_and_partial_patch(api, user):
    data = api.get("/api/v1/notifications/preferences/").json()
    assert data["email_enabled"] is True
    # The kinds a student receives (the user is a student), and no employer's or staff's.
    assert {k["kind"] for k in data["kinds"]} == set(kinds_for_roles({"student"}))
    assert "posting.approved" not in {k["kind"] for k in data["kinds"]}
    assert all(k["email"] for k in data["kinds"])
    response = api.patch(
        "/api/v1/notifications/preferences/",
        {"kinds": [{"kind": "offer.made", "email": False}]},
        format="json",
    )
    assert response.status_code == 200
    by_kind = {k["kind"]: k["email"] for k in response.json()["kinds"]}
    assert by_kind["offer.made"] is False and by_kind["payout.paid"] is True
    api.patch("/api/v1/notifications/preferences/", {"email_enabled": False}, format="json")
    prefs = NotificationSettings.objects.get(user=user)
    assert prefs.email_enabled is False and prefs.email_muted_kinds == ["offer.made"]


def test_preferences_refuse_unknown_kinds_with_field_errors(api, user):
    response = api.patch(
        "/api/v1/notifications/preferences/",
        {"kinds": [{"kind": "posting.exploded", "email": False}]},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "kinds" in body["fields"]
    assert not NotificationSettings.objects.filter(user=user).exclude(email_muted_kinds=[]).exists()


def test_calendar_url_and_regenerate(api, user):
    # The link is on the address the API was called on (the test client's "testserver").
    origin = "http://testserver"
    url = api.get("/api/v1/notifications/calendar/").json()["url"]
    assert url.startswith(origin + "/notifications/calendar/") and url.endswith(".ics")
    new = api.post("/api/v1/notifications/calendar/regenerate/").json()["url"]
    assert new != url
    client = APIClient()
    assert client.get(url[len(origin) :]).status_code == 404
    assert client.get(new[len(origin) :]).status_code == 200


def test_schema_documents_the_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path in [
        "/api/v1/notifications/",
        "/api/v1/notifications/{id}/read/",
        "/api/v1/notifications/read-all/",
        "/api/v1/notifications/preferences/",
        "/api/v1/notifications/calendar/regenerate/",
    ]:
        assert path in paths, path
    listing = paths["/api/v1/notifications/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"cursor", "unread"}
    assert "patch" in paths["/api/v1/notifications/preferences/"]


@pytest.mark.parametrize("count", [3, 40])
def test_list_queries_do_not_grow(api, user, count, django_assert_max_num_queries):
    NotificationFactory.create_batch(count, recipient=user)
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/notifications/")
    assert len(response.json()["results"]) == min(count, 20)
