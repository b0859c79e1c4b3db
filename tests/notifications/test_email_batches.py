"""E-mails in batches: one task per batch, one mail server connection, and a mail server that
fails in the middle (what was sent stays sent; the retry sends only the rest)."""

import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction

from notifications import services, tasks
from notifications.emails import notification_emails_send
from notifications.models import Notification
from tests.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


class FlakyBackend(EmailBackend):
    """Locmem, but the server goes away at the n-th message, or refuses one address."""

    fail_at: int | None = None
    refuse: str | None = None
    opened = 0
    calls = 0

    def open(self):
        type(self).opened += 1
        return super().open()

    def send_messages(self, messages):
        for message in messages:
            type(self).calls += 1
            if type(self).calls == self.fail_at:
                raise ConnectionRefusedError("mail server went away")
            if message.to == [self.refuse]:
                raise smtplib.SMTPRecipientsRefused({self.refuse: (550, b"no such user")})
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.fail_at, FlakyBackend.refuse = None, None
    FlakyBackend.opened, FlakyBackend.calls = 0, 0
    return FlakyBackend


def test_notify_many_enqueues_one_batch(django_capture_on_commit_callbacks, flaky):
    users = UserFactory.create_batch(5)
    with (
        mock.patch.object(
            tasks.send_notification_emails, "delay", wraps=tasks.send_notification_emails.delay
        ) as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        services.notify_many(
            recipients=users, kind="posting.closed", title="Closed", dedupe_key="posting:1:closed"
        )
    assert len(callbacks) == 1 and delay.call_count == 1
    assert len(delay.call_args.args[0]) == 5
    assert len(mail.outbox) == 5
    assert flaky.opened == 1  # one connection to the mail server for the whole batch


def test_a_batch_sends_each_once_and_marks_them(flaky):
    notifications = NotificationFactory.create_batch(4)
    ids = [n.pk for n in notifications]
    assert notification_emails_send(notification_ids=ids) == 4
    assert notification_emails_send(notification_ids=ids) == 0
    assert len(mail.outbox) == 4
    assert set(Notification.objects.values_list("email_status", flat=True)) == {"sent"}


def test_mail_server_failing_mid_batch_keeps_sent_and_retry_sends_the_rest(flaky):
    notifications = NotificationFactory.create_batch(5)
    ids = [n.pk for n in notifications]
    flaky.fail_at = 3
    with pytest.raises(ConnectionRefusedError):
        notification_emails_send(notification_ids=ids)
    statuses = dict(Notification.objects.values_list("pk", "email_status"))
    assert [statuses[pk] for pk in ids] == ["sent", "sent", "pending", "pending", "pending"]
    assert len(mail.outbox) == 2
    assert notification_emails_send(notification_ids=ids) == 3  # the task's retry
    assert sorted(m.subject for m in mail.outbox) == sorted(n.title for n in notifications)


def test_the_task_is_retried_on_a_connection_error(flaky):
    from celery.exceptions import Retry

    notification = NotificationFactory()
    flaky.fail_at = 1
    with pytest.raises(Retry):  # autoretry_for=(OSError,): scheduled again, with backoff
        tasks.send_notification_emails.apply(args=[[notification.pk]], throw=True)
    notification.refresh_from_db()
    assert notification.email_status == "pending"
    flaky.fail_at = None
    assert tasks.send_notification_emails.apply(args=[[notification.pk]], throw=True).result == 1


def test_a_refused_address_is_skipped_and_the_rest_sent(flaky):
    bad = UserFactory(email="gone@example.com")
    refused = NotificationFactory(recipient=bad)
    others = NotificationFactory.create_batch(2)
    flaky.refuse = "gone@example.com"
    assert notification_emails_send(notification_ids=[refused.pk, *[n.pk for n in others]]) == 2
    refused.refresh_from_db()
    assert refused.email_status == "skipped"
    assert len(mail.outbox) == 2


# --- One task per transaction -------------------------------------------------------------------


@pytest.fixture
def delay():
    task = tasks.send_notification_emails
    with mock.patch.object(task, "delay", wraps=task.delay) as delay:
        yield delay


def _notify(user, key):
    return services.notify(recipient=user, kind="offer.made", title=f"T {key}", dedupe_key=key)


@pytest.mark.django_db(transaction=True)
def test_notifications_of_one_transaction_go_out_as_one_task(delay):
    users = UserFactory.create_batch(3)
    with transaction.atomic():
        created = [_notify(user, f"k{i}") for i, user in enumerate(users)]
        assert delay.call_count == 0
    assert [call.args[0] for call in delay.call_args_list] == [[n.pk for n in created]]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_each_goes_at_once(delay):
    user = UserFactory()
    first = _notify(user, "a")
    second = _notify(user, "b")
    assert [call.args[0] for call in delay.call_args_list] == [[first.pk], [second.pk]]
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_nothing_for_the_next(delay):
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        _notify(user, "rolled-back")
        raise RuntimeError
    with transaction.atomic():
        kept = _notify(user, "kept")
    assert [call.args[0] for call in delay.call_args_list] == [[kept.pk]]
    assert [m.subject for m in mail.outbox] == ["T kept"]


@pytest.mark.django_db(transaction=True)
def test_savepoints_rolled_back_inside_the_transaction(delay):
    user = UserFactory()
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            _notify(user, "inner-first")  # starts the batch inside the savepoint
            raise RuntimeError
        outer = _notify(user, "outer")  # the savepoint's callback is gone: a new batch
        with pytest.raises(RuntimeError), transaction.atomic():
            _notify(user, "inner-later")  # joins the outer batch, then is rolled back
            raise RuntimeError
    (call,) = delay.call_args_list
    assert call.args[0] == [outer.pk]  # only the committed row is handed to the task
    assert [m.subject for m in mail.outbox] == ["T outer"]  # the rolled-back row is not sent
    assert list(Notification.objects.values_list("dedupe_key", flat=True)) == ["outer"]
