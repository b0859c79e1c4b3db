"""The iCalendar feed: secret per-user URL, RFC 5545 output, the source registry."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.core.models import AuditLog
from notifications import calendar, services
from notifications.calendar import CalendarEvent, register_source, render_ics, unregister_source
from notifications.models import NotificationSettings
from tests.factories import UserFactory
from tests.notifications.factories import ReminderFactory

pytestmark = pytest.mark.django_db


def unfold(ics: str) -> list[str]:
    """Content lines per RFC 5545 3.1: CRLF ends, a CRLF followed by a space continues."""
    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", "")  # no bare line feeds
    return ics.replace("\r\n ", "").split("\r\n")[:-1]


def vevents(ics: str) -> list[dict[str, str]]:
    events, current = [], None
    for line in unfold(ics):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, value = line.split(":", 1)
            current[name] = value
    return events


def feed_url(user) -> str:
    token = services.notification_settings_get(user=user).calendar_token
    return reverse("notifications:calendar_feed", args=[token])


@pytest.fixture
def source():
    """A registered test source; removed afterwards."""
    events: list = []

    def function(user):
        return [e for owner, e in events if owner == user.pk]

    register_source("tests.source", function)
    yield events
    unregister_source("tests.source")


def test_feed_is_valid_icalendar_with_the_users_events(source, settings):
    user, other = UserFactory(), UserFactory()
    due = datetime(2026, 5, 4, 15, 30, tzinfo=UTC)
    source.append(
        (
            user.pk,
            CalendarEvent(uid="m-1", title="Milestone due: Report", starts_at=due, link="/a/1/"),
        )
    )
    source.append((other.pk, CalendarEvent(uid="m-2", title="Not yours", starts_at=due)))
    response = Client().get(feed_url(user))  # no login: calendar programs cannot log in
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content.decode()
    lines = unfold(body)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    (event,) = vevents(body)
    assert event["UID"] == "m-1@127.0.0.1"  # SITE_URL's host: stable whatever address
    assert event["DTSTART"] == "20260504T153000Z"
    assert event["SUMMARY"] == "Milestone due: Report"
    # Links use the address the feed was fetched on (the test client's), not SITE_URL.
    assert event["URL"] == "http://testserver/a/1/"
    assert len(event["DTSTAMP"]) == 16 and event["DTSTAMP"].endswith("Z")
    assert "Not yours" not in body


def test_times_are_utc_whatever_the_zone():
    berlin = timezone.get_fixed_timezone(120)
    ics = render_ics(
        [CalendarEvent(uid="x", title="t", starts_at=datetime(2026, 7, 1, 12, 0, tzinfo=berlin))],
        name="n",
    )
    assert vevents(ics)[0]["DTSTART"] == "20260701T100000Z"


def test_text_is_escaped_and_long_lines_folded_at_75_octets():
    title = "Déjà vu; commas, backslash \\ and a\nnewline " + "é" * 60
    ics = render_ics(
        [CalendarEvent(uid="x", title=title, starts_at=timezone.now(), description="a,b")],
        name="n",
    )
    for raw_line in ics.split("\r\n"):
        assert len(raw_line.encode("utf-8")) <= 75
    event = vevents(ics)[0]
    expected = "Déjà vu\\; commas\\, backslash \\\\ and a\\nnewline " + "é" * 60
    assert event["SUMMARY"] == expected
    assert event["DESCRIPTION"] == "a\\,b"


def test_unknown_or_tampered_token_is_404_and_changes_nothing():
    user = UserFactory()
    url = feed_url(user)
    token = NotificationSettings.objects.get(user=user).calendar_token
    client = Client()
    for bad in [token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", "x", token.upper()]:
        if bad == token:
            continue
        assert client.get(reverse("notifications:calendar_feed", args=[bad])).status_code == 404
    assert NotificationSettings.objects.get(user=user).calendar_token == token
    assert client.get(url).status_code == 200


def test_calendar_token_with_a_nul_character_is_404():
    # PostgreSQL refuses NUL in a query; the lookup must not reach it (a 500 before).
    UserFactory()
    assert Client().get("/notifications/calendar/abc%00def.ics").status_code == 404


def test_inactive_users_feed_is_404():
    user = UserFactory()
    url = feed_url(user)
    user.is_active = False
    user.save()
    assert Client().get(url).status_code == 404


def test_regenerating_revokes_the_old_url(client):
    user = UserFactory()
    old = feed_url(user)
    client.force_login(user)
    response = client.post(reverse("notifications:calendar_regenerate"))
    assert response.status_code == 302
    new = feed_url(user)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert AuditLog.objects.filter(action="notifications.calendar_token_regenerated").count() == 1


def test_regenerate_needs_post_and_login(client):
    user = UserFactory()
    old = feed_url(user)
    assert client.post(reverse("notifications:calendar_regenerate")).status_code == 302  # login
    client.force_login(user)
    assert client.get(reverse("notifications:calendar_regenerate")).status_code == 405
    assert feed_url(user) == old


def test_a_failing_source_is_left_out(source, caplog):
    user = UserFactory()

    def broken(user):
        raise RuntimeError("boom")

    register_source("tests.broken", broken)
    try:
        source.append(
            (user.pk, CalendarEvent(uid="ok", title="Still here", starts_at=timezone.now()))
        )
        response = Client().get(feed_url(user))
    finally:
        unregister_source("tests.broken")
    assert response.status_code == 200
    assert "Still here" in response.content.decode()
    assert "tests.broken" in caplog.text


# --- The built-in source: deadlines of reminders ------------------------------------------------


@pytest.fixture
def only_builtin_source(monkeypatch):
    """Other apps register their own sources (and take over reminder kinds): not here."""
    monkeypatch.setattr(
        calendar, "_sources", {"notifications.reminders": calendar.reminder_deadline_events}
    )
    monkeypatch.setattr(calendar, "_replaced_reminder_kinds", {})


def test_reminder_deadlines_one_event_per_deadline(time_machine, only_builtin_source):
    time_machine.move_to("2026-04-01 10:00Z", tick=False)
    user = UserFactory()
    due = datetime(2026, 4, 10, 17, 0, tzinfo=UTC)
    for hours in (48, 2):
        ReminderFactory(
            recipient=user,
            key=f"milestone:1:due:{hours}h",
            kind="reminder.milestone_due",
            send_at=due - timedelta(hours=hours),
            expires_at=due,
            link="/assignments/1/",
        )
    ReminderFactory(key="someone-else", expires_at=due)  # another user's
    events = calendar.events_for(user)
    assert len(events) == 1
    assert events[0].title == "Milestone due" and events[0].starts_at == due
    assert events[0].link == "/assignments/1/"


def test_done_thing_drops_its_deadline(time_machine, only_builtin_source):
    time_machine.move_to("2026-04-01 10:00Z", tick=False)
    user = UserFactory()
    due = datetime(2026, 4, 10, 17, 0, tzinfo=UTC)
    ReminderFactory(
        recipient=user,
        key="offer:3:due",
        kind="reminder.offer_due",
        expires_at=due,
        send_at=due - timedelta(hours=24),
    )
    assert len(calendar.events_for(user)) == 1
    services.reminder_cancel(key_prefix="offer:3:")
    assert calendar.events_for(user) == []


def test_an_app_source_can_replace_a_reminder_kind(source, only_builtin_source):
    user = UserFactory()
    due = timezone.now() + timedelta(days=3)
    ReminderFactory(
        recipient=user,
        kind="reminder.milestone_due",
        expires_at=due,
        send_at=due - timedelta(hours=2),
    )
    assert [e.title for e in calendar.events_for(user)] == ["Milestone due"]
    register_source(
        "tests.milestones", lambda u: [], replaces_reminder_kinds=["reminder.milestone_due"]
    )
    try:
        assert calendar.events_for(user) == []
    finally:
        unregister_source("tests.milestones")


def test_dashboard_panel_links_to_the_feed(rf, settings):
    from notifications.views import notifications_panel

    user = UserFactory()
    request = rf.get("/dashboard/")
    request.user = user
    template, context = notifications_panel(request)
    assert template == "notifications/panel.html"
    assert context["calendar_url"] == settings.SITE_URL + feed_url(user)
    assert context["webcal_url"].startswith("webcal://")
    from django.template.loader import render_to_string

    html = render_to_string(template, {"panel": context, "user": user})
    assert feed_url(user) in html and reverse("notifications:calendar_regenerate") in html


def test_panel_is_registered():
    from marketplace.core.panels import _panels

    assert "notifications.inbox" in _panels


def test_dashboard_shows_unread_and_the_calendar_link(client, settings):
    from tests.notifications.factories import NotificationFactory

    user = UserFactory()
    NotificationFactory(recipient=user, title="You were shortlisted for “Survey analysis”")
    client.force_login(user)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'id="panel-notifications"' in html
    assert "You were shortlisted for “Survey analysis”" in html
    assert f'value="http://testserver{feed_url(user)}"' in html
