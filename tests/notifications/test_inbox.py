"""Inbox page, unread count in the navigation, mark one or all read (htmx and plain forms)."""

import pytest
from django.urls import reverse

from notifications.models import Notification
from tests.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_inbox_needs_login(client):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_inbox_lists_only_my_notifications_newest_first(client, user):
    old = NotificationFactory(recipient=user, title="Older one")
    new = NotificationFactory(recipient=user, title="Newer one")
    NotificationFactory(title="Someone else's secret")
    response = client.get(reverse("notifications:inbox"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(new.title) < html.index(old.title)
    assert "Someone else" not in html


def test_unread_count_in_navigation(client, user):
    NotificationFactory.create_batch(3, recipient=user)
    NotificationFactory(recipient=user, read_at="2026-01-01T00:00Z")
    NotificationFactory()  # another user's
    html = client.get(reverse("notifications:preferences")).content.decode()
    assert (
        '<span id="nav-unread" class="notif-count">3<span class="notif-sr"> unread</span>' in html
    )


def test_navigation_shows_no_count_when_all_read(client, user):
    NotificationFactory(recipient=user, read_at="2026-01-01T00:00Z")
    html = client.get(reverse("notifications:preferences")).content.decode()
    assert 'class="notif-count notif-count-zero"></span>' in html


def test_mark_one_read_plain_form_redirects_back(client, user):
    notification = NotificationFactory(recipient=user)
    response = client.post(
        reverse("notifications:read", args=[notification.pk]), {"next": "/notifications/?x=1"}
    )
    assert response.status_code == 302 and response["Location"] == "/notifications/?x=1"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_read_ignores_an_offsite_next(client, user):
    notification = NotificationFactory(recipient=user)
    response = client.post(
        reverse("notifications:read", args=[notification.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("notifications:inbox")


def test_mark_one_read_htmx_returns_row_and_updated_badge(client, user):
    notification = NotificationFactory(recipient=user)
    NotificationFactory(recipient=user)
    response = client.post(
        reverse("notifications:read", args=[notification.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="notification-{notification.pk}"' in html
    assert "notif-unread" not in html and "Mark read" not in html
    assert 'id="nav-unread"' in html and 'hx-swap-oob="true"' in html and ">1<" in html


def test_mark_read_twice_keeps_first_read_time(client, user):
    notification = NotificationFactory(recipient=user)
    client.post(reverse("notifications:read", args=[notification.pk]))
    notification.refresh_from_db()
    first = notification.read_at
    client.post(reverse("notifications:read", args=[notification.pk]))
    notification.refresh_from_db()
    assert notification.read_at == first


def test_mark_all_read(client, user):
    mine = NotificationFactory.create_batch(3, recipient=user)
    theirs = NotificationFactory()
    response = client.post(reverse("notifications:read_all"))
    assert response.status_code == 302
    assert all(Notification.objects.get(pk=n.pk).read_at for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_mark_all_read_htmx(client, user):
    NotificationFactory.create_batch(2, recipient=user)
    response = client.post(reverse("notifications:read_all"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'id="notification-list"' in html and "notif-unread" not in html
    assert 'class="notif-count notif-count-zero" hx-swap-oob="true"' in html


def test_mark_read_needs_post(client, user):
    notification = NotificationFactory(recipient=user)
    assert client.get(reverse("notifications:read", args=[notification.pk])).status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_another_users_notification_is_404_to_open_and_to_mark(client, user):
    theirs = NotificationFactory(link="/dashboard/")
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    response = client.post(
        reverse("notifications:read", args=[theirs.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_open_marks_read_and_follows_the_site_link(client, user):
    notification = NotificationFactory(recipient=user, link="/dashboard/")
    response = client.get(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.parametrize("link", ["https://evil.example/", "//evil.example/", ""])
def test_open_never_redirects_off_site(client, user, link):
    notification = NotificationFactory(recipient=user, link=link)
    response = client.get(reverse("notifications:open", args=[notification.pk]))
    assert response["Location"] == reverse("notifications:inbox")


def test_unread_filter_and_keyset_pages(client, user, settings):
    from notifications import selectors

    total = selectors.INBOX_PAGE_SIZE + 5
    for i in range(total):
        NotificationFactory(recipient=user, title=f"N{i:03d}")
    first = client.get(reverse("notifications:inbox"))
    assert first.context["next_before"] is not None
    assert len(first.context["notifications"]) == selectors.INBOX_PAGE_SIZE
    second = client.get(reverse("notifications:inbox"), {"before": first.context["next_before"]})
    titles = [n.title for n in first.context["notifications"] + second.context["notifications"]]
    assert titles == [f"N{i:03d}" for i in reversed(range(total))]
    assert second.context["next_before"] is None
    Notification.objects.filter(recipient=user, title="N000").update(read_at="2026-01-01T00:00Z")
    unread = client.get(reverse("notifications:inbox"), {"filter": "unread"})
    assert "N000" not in [n.title for n in unread.context["notifications"]]


@pytest.mark.parametrize("count", [3, 30])
def test_inbox_queries_do_not_grow(client, user, count, django_assert_max_num_queries):
    NotificationFactory.create_batch(count, recipient=user)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("notifications:inbox")).status_code == 200
