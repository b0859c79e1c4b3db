"""Per-kind e-mail preferences (page), e-mail content, and the signed unsubscribe link."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from marketplace.core.models import AuditLog
from notifications import services
from notifications.forms import kind_field_name
from notifications.kinds import KINDS, ROLES, kinds_for_roles
from notifications.models import Notification, NotificationSettings
from notifications.tokens import unsubscribe_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _email_for(user, django_capture_on_commit_callbacks, kind="offer.made", link="/offers/7/"):
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(
            recipient=user,
            kind=kind,
            title="You received an offer for “Data clean-up”",
            body="Acme Ltd offers you the work.\nAnswer within 3 days.",
            link=link,
            dedupe_key=f"{kind}:{link}",
        )
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def _prefs(user) -> NotificationSettings:
    return NotificationSettings.objects.get(user=user)


def _site_path(url: str, settings) -> str:
    assert url.startswith(settings.SITE_URL + "/"), url
    return url[len(settings.SITE_URL) :]


# --- The preferences page ---------------------------------------------------------------------


def test_preferences_page_lists_the_students_kinds_checked_by_default(client):
    client.force_login(UserFactory())  # a student
    response = client.get(reverse("notifications:preferences"))
    html = response.content.decode()
    assert response.status_code == 200
    student_kinds = kinds_for_roles({"student"})
    for kind, label in student_kinds.items():
        assert f'name="{kind_field_name(kind)}"' in html
        assert label in html
    form = response.context["form"]
    assert all(form.initial[kind_field_name(kind)] for kind in student_kinds)
    assert form.initial["email_enabled"] is True


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (
            "student",
            ["You received an offer", "A payout was paid", "New postings for your saved searches"],
            ["Your posting was approved", "New application on your posting", "(staff)"],
        ),
        (
            "employer",
            ["Your posting was approved", "New application on your posting", "A refund was made"],
            ["You received an offer", "A payout was paid", "saved searches", "(staff)"],
        ),
    ],
)
def test_preferences_show_only_the_kinds_of_the_users_role(client, role, shown, hidden):
    client.force_login(UserFactory(role=role))
    html = client.get(reverse("notifications:preferences")).content.decode()
    for label in shown:
        assert label in html, label
    for label in hidden:
        assert label not in html, label
    assert "<legend>Saved searches</legend>" in html if role == "student" else True
    assert "<legend>Moderation</legend>" not in html


def test_staff_see_the_staff_kinds():
    assert set(kinds_for_roles({"staff"})) >= {"moderation.waiting", "payments.issue"}
    assert "offer.made" not in kinds_for_roles({"staff"})


def test_every_kind_reaches_some_role_and_every_role_is_known():
    assert set(ROLES) == set(KINDS)
    assert set().union(*ROLES.values()) == {"student", "employer", "staff"}


def test_saving_preferences_switches_kinds_off_and_on(client):
    user = UserFactory()
    client.force_login(user)
    data = {"email_enabled": "on"}
    data |= {kind_field_name(kind): "on" for kind in KINDS if kind != "offer.made"}
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 302
    assert _prefs(user).email_muted_kinds == ["offer.made"]
    assert _prefs(user).email_enabled is True
    page = client.get(reverse("notifications:preferences"))
    assert page.context["form"].initial[kind_field_name("offer.made")] is False
    data[kind_field_name("offer.made")] = "on"
    client.post(reverse("notifications:preferences"), data)
    assert _prefs(user).email_muted_kinds == []
    assert AuditLog.objects.filter(action="notifications.preferences_changed").count() == 2


def test_preferences_need_login(client):
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 302


def test_preference_update_refuses_unknown_kind_and_other_users():
    from marketplace.core.errors import DomainError, NotPermitted

    user, other = UserFactory(), UserFactory()
    with pytest.raises(DomainError) as caught:
        services.notification_preferences_update(user=user, actor=user, kinds={"nope": False})
    assert "kinds" in caught.value.fields
    with pytest.raises(NotPermitted):
        services.notification_preferences_update(user=user, actor=other, email_enabled=False)
    assert not NotificationSettings.objects.filter(email_enabled=False).exists()


# --- The e-mail itself -------------------------------------------------------------------------


def test_email_has_text_and_html_with_absolute_working_links(
    client, settings, django_capture_on_commit_callbacks
):
    user = UserFactory()
    message = _email_for(user, django_capture_on_commit_callbacks, link="/notifications/")
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    assert "You received an offer" in message.subject
    assert "Acme Ltd offers you the work." in message.body
    assert "Acme Ltd offers you the work.<br>Answer within 3 days." in html
    assert f"{settings.SITE_URL}/notifications/" in message.body
    assert f'href="{settings.SITE_URL}/notifications/"' in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(h.startswith(settings.SITE_URL + "/") for h in hrefs)
    # Every link resolves on the site (the logged-in user sees the pages; the home page, also
    # linked, is core's).
    client.force_login(user)
    for href in set(hrefs) - {settings.SITE_URL + "/"}:
        assert client.get(_site_path(href, settings)).status_code in {200, 302}, href


def test_email_text_is_not_html_escaped_and_html_is(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(
            recipient=user,
            kind="message.received",
            title="New message from O'Brien & Co",
            body="<b>hi</b> & welcome",
            dedupe_key="m1",
        )
    message = mail.outbox[0]
    assert "<b>hi</b> & welcome" in message.body
    assert "&lt;b&gt;hi&lt;/b&gt; &amp; welcome" in message.alternatives[0][0]


def test_email_carries_one_click_unsubscribe_headers(settings, django_capture_on_commit_callbacks):
    user = UserFactory()
    message = _email_for(user, django_capture_on_commit_callbacks)
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith(f"<{settings.SITE_URL}/notifications/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw = message.message().as_string()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw


# --- Unsubscribe -------------------------------------------------------------------------------


def test_unsubscribe_link_from_the_email_confirms_then_switches_that_kind_off(
    settings, django_capture_on_commit_callbacks
):
    user = UserFactory()
    message = _email_for(user, django_capture_on_commit_callbacks)
    link = re.search(r"Stop e-mails like this one \([^)]*\): (\S+)", message.body).group(1)
    browser = Client()  # not logged in: reading mail on another device
    page = browser.get(_site_path(link, settings))
    assert page.status_code == 200
    assert "You received an offer" in page.content.decode()  # the kind's label
    # Showing the page changes nothing (link scanners in mail systems open links).
    assert not NotificationSettings.objects.filter(user=user).exclude(email_muted_kinds=[]).exists()
    done = browser.post(_site_path(link, settings))
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert _prefs(user).email_muted_kinds == ["offer.made"] and _prefs(user).email_enabled
    # The next offer is in the inbox, not in the mail.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipient=user, kind="offer.made", title="Another", dedupe_key="o2")
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=user, dedupe_key="o2").exists()


def test_get_alone_changes_nothing(client):
    user = UserFactory()
    client.get(
        reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=user.pk, kind="*")])
    )
    assert not NotificationSettings.objects.filter(user=user, email_enabled=False).exists()


def test_unsubscribe_all_link(settings, django_capture_on_commit_callbacks):
    user = UserFactory()
    message = _email_for(user, django_capture_on_commit_callbacks)
    link = re.search(r"Stop all e-mails: (\S+)", message.body).group(1)
    Client().post(_site_path(link, settings))
    assert _prefs(user).email_enabled is False
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipient=user, kind="payout.paid", title="Paid", dedupe_key="p1")
    assert mail.outbox == []


def test_rfc8058_one_click_post_without_csrf_token(settings, django_capture_on_commit_callbacks):
    user = UserFactory()
    message = _email_for(user, django_capture_on_commit_callbacks)
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    provider = Client(enforce_csrf_checks=True)
    response = provider.post(
        _site_path(url, settings),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert _prefs(user).email_muted_kinds == ["offer.made"]
    # Twice is harmless.
    assert provider.post(_site_path(url, settings)).status_code == 200
    assert _prefs(user).email_muted_kinds == ["offer.made"]


def _tampered(token: str) -> list[str]:
    value, signature = token.rsplit(":", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_payload = unsubscribe_token(user_id=999, kind="*").rsplit(":", 1)[0]
    return [
        f"{value}:{flipped}",
        f"{other_payload}:{signature}",
        value,
        "garbage",
        token + "x",
    ]


def test_tampered_unsubscribe_token_is_404_and_changes_nothing():
    user = UserFactory()
    victim = UserFactory()
    token = unsubscribe_token(user_id=user.pk, kind="offer.made")
    client = Client(enforce_csrf_checks=True)
    for bad in _tampered(token):
        url = reverse("notifications:unsubscribe", args=[bad])
        assert client.get(url).status_code == 404, bad
        assert client.post(url).status_code == 404, bad
    assert not NotificationSettings.objects.exists()
    # A token signed for another purpose (another salt) is refused too.
    from django.core import signing

    forged = signing.Signer().sign_object({"u": victim.pk, "k": "*"})
    assert client.post(reverse("notifications:unsubscribe", args=[forged])).status_code == 404
    assert not NotificationSettings.objects.exists()


def test_valid_token_for_unknown_kind_or_deleted_user_is_404():
    user = UserFactory()
    assert (
        Client()
        .post(
            reverse(
                "notifications:unsubscribe",
                args=[unsubscribe_token(user_id=user.pk, kind="no.such")],
            )
        )
        .status_code
        == 404
    )
    ghost = unsubscribe_token(user_id=user.pk + 1000, kind="*")
    assert Client().post(reverse("notifications:unsubscribe", args=[ghost])).status_code == 404
