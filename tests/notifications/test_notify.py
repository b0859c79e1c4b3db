"""notify(): exactly once per dedupe key, e-mail only after commit, preferences honoured."""

import pytest
from django.core import mail
from django.db import transaction

from notifications import services
from notifications.emails import notification_email_send
from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _notify(user, key="posting:1:approved", kind="posting.approved", **kwargs):
    return services.notify(
        recipient=user,
        kind=kind,
        title="Your posting “Data clean-up” was approved",
        body="It is live now.",
        link="/postings/1/",
        dedupe_key=key,
        **kwargs,
    )


def test_same_dedupe_key_notifies_and_emails_once(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = _notify(user)
        second = _notify(user)
    assert first is not None and second is None
    assert Notification.objects.filter(recipient=user).count() == 1
    assert len(mail.outbox) == 1
    first.refresh_from_db()
    assert first.email_status == Notification.EmailStatus.SENT and first.emailed_at


@pytest.mark.django_db(transaction=True)
def test_email_goes_out_only_after_the_transaction_commits():
    user = UserFactory()
    with transaction.atomic():
        notification = _notify(user)
        # Written, but nothing sent while the change may still roll back.
        assert Notification.objects.filter(pk=notification.pk).exists()
        assert mail.outbox == []
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_notifies_nobody():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        _notify(user)
        raise RuntimeError("the change failed")
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_no_email_for_a_kind_switched_off_but_inbox_keeps_it(django_capture_on_commit_callbacks):
    user = UserFactory()
    services.notification_preferences_update(
        user=user, actor=user, kinds={"posting.approved": False}
    )
    with django_capture_on_commit_callbacks(execute=True):
        muted = _notify(user)
        other = _notify(user, key="application:9:received", kind="application.received")
    assert Notification.objects.filter(recipient=user).count() == 2
    muted.refresh_from_db()
    other.refresh_from_db()
    assert muted.email_status == Notification.EmailStatus.SKIPPED and muted.emailed_at is None
    assert other.email_status == Notification.EmailStatus.SENT
    assert [m.subject for m in mail.outbox] == [other.title]


def test_no_email_at_all_when_the_all_switch_is_off(django_capture_on_commit_callbacks):
    user = UserFactory()
    services.notification_preferences_update(user=user, actor=user, email_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(user)
        _notify(user, key="k2", kind="payout.paid")
    assert Notification.objects.filter(recipient=user).count() == 2
    assert mail.outbox == []


def test_preference_checked_when_sending_not_when_notifying(django_capture_on_commit_callbacks):
    """Switched off after the notification was written but before the task ran: not sent."""
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _notify(user)
    services.notification_preferences_update(
        user=user, actor=user, kinds={"posting.approved": False}
    )
    for callback in callbacks:
        callback()
    assert mail.outbox == []


def test_inactive_user_or_no_address_gets_no_email(django_capture_on_commit_callbacks):
    inactive = UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify(inactive)
    notification.refresh_from_db()
    assert notification.email_status == Notification.EmailStatus.SKIPPED
    assert mail.outbox == []


def test_sending_twice_sends_once(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notification = _notify(user)
    assert notification_email_send(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1


def test_notify_many_one_each_and_idempotent(django_capture_on_commit_callbacks):
    users = UserFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.notify_many(
            recipients=users, kind="posting.closed", title="Closed", dedupe_key="posting:5:closed"
        )
        again = services.notify_many(
            recipients=users, kind="posting.closed", title="Closed", dedupe_key="posting:5:closed"
        )
    assert (first, again) == (3, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)


def test_lost_email_task_is_enqueued_again(django_capture_on_commit_callbacks, time_machine):
    """The row is the outbox: a pending e-mail whose task never ran is sent by the requeue sweep,
    once; a stale one (older than the maximum age) is not."""
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory()
    time_machine.move_to("2026-03-02 09:00Z", tick=False)
    with django_capture_on_commit_callbacks(execute=False):  # the broker "was down"
        lost = _notify(user, key="lost")
    time_machine.move_to("2026-03-01 08:00Z", tick=False)
    with django_capture_on_commit_callbacks(execute=False):
        stale = _notify(user, key="stale")
    time_machine.move_to("2026-03-02 09:03Z", tick=False)
    assert services.notification_emails_requeue() == 0  # too early: the task may still come
    time_machine.move_to("2026-03-02 09:15Z", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notification_emails_requeue(now=timezone.now()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notification_emails_requeue(older_than=timedelta(minutes=1)) == 0
    lost.refresh_from_db()
    stale.refresh_from_db()
    assert lost.email_status == Notification.EmailStatus.SENT
    assert stale.email_status == Notification.EmailStatus.PENDING
    assert len(mail.outbox) == 1
