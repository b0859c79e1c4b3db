"""In a real browser: the inbox's unread count, marking one read with htmx (no page load, the
navigation's count updates), marking all read, the preferences page, and the calendar panel."""

import re

import pytest
from playwright.sync_api import expect

from notifications.models import Notification, NotificationSettings
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import PASSWORD, StudentFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def problems(page) -> list[str]:
    """Console errors (a Content Security Policy refusal, a script error), except the browser's
    own request for /favicon.ico, which the site does not serve."""
    return [e for e in page.console_errors if not e.startswith("Failed to load resource")]


def test_inbox_mark_read_with_htmx_and_preferences(page):
    user = StudentFactory()
    first = NotificationFactory(recipient=user, title="Your offer for “Survey analysis”")
    NotificationFactory(recipient=user, title="You were shortlisted")
    NotificationFactory(recipient=user, title="A payout was paid")
    login(page, user.email, PASSWORD)

    page.goto("/notifications/")
    badge = page.locator("#nav-unread")
    assert badge.inner_text().startswith("3")
    page.evaluate("window.__stillSamePage = true")  # gone if the page reloads
    row = page.locator(f"#notification-{first.pk}")
    row.get_by_role("button", name="Mark read").click()
    expect(badge).to_have_text(re.compile(r"^2"))
    assert page.evaluate("window.__stillSamePage") is True
    assert row.get_by_role("button", name="Mark read").count() == 0
    assert Notification.objects.get(pk=first.pk).read_at is not None

    page.get_by_role("button", name="Mark all read").click()
    expect(badge).to_have_text("")
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notifications-inbox.png"), full_page=True)

    page.goto("/notifications/preferences/")
    page.get_by_label("You received an offer").uncheck()
    page.get_by_role("button", name="Save preferences").click()
    page.wait_for_load_state()
    assert "Your e-mail preferences are saved." in page.content()
    assert NotificationSettings.objects.get(user=user).email_muted_kinds == ["offer.made"]
    assert page.get_by_label("You received an offer").is_checked() is False
    page.screenshot(path=str(ARTIFACTS / "notifications-preferences.png"), full_page=True)
    assert problems(page) == []


def test_dashboard_shows_the_calendar_link(page):
    user = StudentFactory()
    login(page, user.email, PASSWORD)
    page.goto("/dashboard/")
    token = NotificationSettings.objects.get(user=user).calendar_token
    field = page.get_by_label("Calendar link")
    assert field.input_value().endswith(f"/notifications/calendar/{token}.ics")
    response = page.request.get(f"/notifications/calendar/{token}.ics")
    assert response.ok and response.text().startswith("BEGIN:VCALENDAR")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Make a new link").click()
    page.wait_for_load_state()
    new = NotificationSettings.objects.get(user=user).calendar_token
    assert new != token
    assert page.request.get(f"/notifications/calendar/{token}.ics").status == 404
    assert problems(page) == []


def test_inbox_rows_line_up_read_or_unread(page):
    """Read and unread rows start their title, text and date at the same place (an unread row
    is marked by its bar's colour, not by a wider indent)."""
    user = StudentFactory()
    unread = NotificationFactory(recipient=user, title="You were shortlisted", body="Good news.")
    read = NotificationFactory(recipient=user, title="A payout was paid", body="300.00 USD.")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    login(page, user.email, PASSWORD)
    page.goto("/notifications/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#notification-list").screenshot(path=str(ARTIFACTS / "inbox-rows.png"))
    for part in (".notif-title", ".notif-body", "time"):
        left = [
            page.locator(f"#notification-{n.pk} {part}").bounding_box()["x"] for n in (unread, read)
        ]
        assert left[0] == left[1], (part, left)
