"""Reminders with frozen time: sent at the right moment, exactly once, never after the deadline,
not when cancelled; a crash in the middle of a sweep; the e-mails they send."""

import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from notifications import services, tasks
from notifications.kinds import KINDS
from notifications.models import Notification, Reminder
from notifications.tasks import send_due_reminders
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: e-mail is sent on commit

DEADLINE = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
REMINDER_KINDS = sorted(kind for kind in KINDS if kind.startswith("reminder."))


@pytest.fixture
def clock(time_machine):
    def move(when):
        time_machine.move_to(when, tick=False)

    move(DEADLINE - timedelta(days=5))
    return move


def schedule(user, *, key="milestone:7:due:48h", kind="reminder.milestone_due", before=48, **kw):
    return services.reminder_schedule(
        key=key,
        recipient=user,
        kind=kind,
        title="Milestone “Report” is due in 48 hours",
        body="Submit your work before the deadline.",
        send_at=DEADLINE - timedelta(hours=before),
        expires_at=DEADLINE,
        link="/notifications/",
        **kw,
    )


@pytest.mark.parametrize("kind", REMINDER_KINDS)
def test_every_reminder_kind_sent_at_its_moment_and_only_once(clock, kind):
    user = UserFactory()
    reminder = schedule(user, kind=kind, key=f"{kind}:1")
    send_at = reminder.send_at
    clock(send_at - timedelta(minutes=1))
    assert services.reminders_send_due() == 0
    assert mail.outbox == []
    clock(send_at)
    assert services.reminders_send_due() == 1
    clock(send_at + timedelta(minutes=1))
    assert services.reminders_send_due() == 0
    clock(send_at + timedelta(minutes=2))
    assert send_due_reminders.delay().result == 0  # the beat task itself
    notifications = Notification.objects.filter(recipient=user)
    assert [(n.kind, n.dedupe_key) for n in notifications] == [(kind, f"reminder:{kind}:1")]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    reminder.refresh_from_db()
    assert reminder.sent_at == send_at and reminder.cancelled_at is None


def test_a_late_sweep_still_reminds_before_the_deadline(clock):
    user = UserFactory()
    schedule(user)
    clock(DEADLINE - timedelta(minutes=1))  # the worker was down for two days
    assert services.reminders_send_due() == 1


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(days=2)])
def test_never_sent_at_or_after_the_deadline(clock, late):
    user = UserFactory()
    reminder = schedule(user)
    clock(DEADLINE + late)
    assert services.reminders_send_due() == 0
    assert not Notification.objects.exists() and mail.outbox == []
    reminder.refresh_from_db()
    assert reminder.sent_at is None and reminder.cancelled_at == DEADLINE + late
    assert services.reminders_send_due() == 0


def test_not_sent_when_the_thing_was_done(clock):
    user = UserFactory()
    schedule(user, key="milestone:7:due:48h")
    schedule(user, key="milestone:7:due:2h", before=2)
    schedule(user, key="milestone:8:due:48h")
    assert services.reminder_cancel(key_prefix="milestone:7:") == 2
    clock(DEADLINE - timedelta(hours=1))
    assert services.reminders_send_due() == 1
    assert list(Notification.objects.values_list("dedupe_key", flat=True)) == [
        "reminder:milestone:8:due:48h"
    ]
    # Cancelling after sending changes nothing that was sent.
    assert services.reminder_cancel(key_prefix="milestone:8:") == 0


def test_scheduling_twice_changes_nothing_and_too_late_is_not_scheduled(clock):
    user = UserFactory()
    first = schedule(user)
    again = schedule(user, before=10)
    assert again.pk == first.pk and again.send_at == DEADLINE - timedelta(hours=48)
    assert Reminder.objects.count() == 1
    assert schedule(user, key="late", before=0) is None
    assert schedule(user, key="later", before=-1) is None
    assert Reminder.objects.count() == 1


def test_reschedule_moves_a_pending_reminder_but_not_a_sent_one(clock):
    user = UserFactory()
    reminder = schedule(user)
    moved = schedule(user, before=24, reschedule=True)
    assert moved.pk == reminder.pk and moved.send_at == DEADLINE - timedelta(hours=24)
    clock(moved.send_at)
    services.reminders_send_due()
    schedule(user, before=30, reschedule=True)
    reminder.refresh_from_db()
    assert reminder.send_at == DEADLINE - timedelta(hours=24) and reminder.sent_at
    assert schedule(user, key="x", before=0, reschedule=True) is None


def test_reschedule_past_the_deadline_cancels(clock):
    user = UserFactory()
    reminder = schedule(user)
    assert schedule(user, before=-1, reschedule=True) is None
    reminder.refresh_from_db()
    assert reminder.cancelled_at is not None


def test_sweep_sends_many_across_batches_each_once(clock):
    users = UserFactory.create_batch(3)
    for i in range(7):
        schedule(users[i % 3], key=f"k:{i}", before=48 - i)
    clock(DEADLINE - timedelta(hours=1))
    task = tasks.send_notification_emails
    with mock.patch.object(task, "delay", wraps=task.delay) as delay:
        assert services.reminders_send_due(batch_size=3) == 7
        assert services.reminders_send_due(batch_size=3) == 0
    # One e-mail task per batch of the sweep, enqueued when that batch committed.
    assert [len(call.args[0]) for call in delay.call_args_list] == [3, 3, 1]
    assert Notification.objects.count() == 7 and len(mail.outbox) == 7
    assert sorted(n.dedupe_key for n in Notification.objects.all()) == sorted(
        f"reminder:k:{i}" for i in range(7)
    )


@pytest.mark.parametrize("fail_on_call, committed_before_crash", [(3, 2), (1, 0)])
def test_crash_in_the_middle_of_a_sweep_rolls_back_and_the_next_sends_each_once(
    clock, fail_on_call, committed_before_crash
):
    user = UserFactory()
    for i in range(5):
        schedule(user, key=f"crash:{i}", before=48 - i)
    clock(DEADLINE - timedelta(hours=1))
    real_notify = services.notify
    calls = {"n": 0}

    def flaky_notify(**kwargs):
        calls["n"] += 1
        if calls["n"] == fail_on_call:
            raise ConnectionError("the database connection dropped")
        return real_notify(**kwargs)

    with mock.patch.object(services, "notify", flaky_notify), pytest.raises(ConnectionError):
        services.reminders_send_due(batch_size=2)
    # Only whole batches before the crash are committed (and only their e-mails went out).
    assert Notification.objects.count() == committed_before_crash
    assert Reminder.objects.filter(sent_at__isnull=False).count() == committed_before_crash
    assert len(mail.outbox) == committed_before_crash
    assert services.reminders_send_due(batch_size=2) == 5 - committed_before_crash
    assert services.reminders_send_due() == 0
    keys = sorted(Notification.objects.values_list("dedupe_key", flat=True))
    assert keys == [f"reminder:crash:{i}" for i in range(5)]
    assert sorted(m.subject for m in mail.outbox) == [Reminder.objects.first().title] * 5
    assert Reminder.objects.filter(sent_at__isnull=True).count() == 0


def test_a_notification_left_by_a_crash_is_not_duplicated(clock):
    """Even if a reminder's notification exists (e.g. written by an earlier run whose reminder
    update was lost), the sweep marks the reminder sent without a second notification."""
    user = UserFactory()
    schedule(user, key="dup")
    services.notify(
        recipient=user, kind="reminder.milestone_due", title="t", dedupe_key="reminder:dup"
    )
    mail.outbox.clear()
    clock(DEADLINE - timedelta(hours=1))
    assert services.reminders_send_due() == 0
    assert Notification.objects.count() == 1 and mail.outbox == []
    assert Reminder.objects.get(key="dup").sent_at is not None


def test_reminder_email_links_and_unsubscribe_work(clock, settings):
    user = UserFactory()
    schedule(user, key="a")
    clock(DEADLINE - timedelta(hours=47))
    services.reminders_send_due()
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert f'href="{settings.SITE_URL}/notifications/"' in html
    browser = Client()
    browser.force_login(user)
    for href in set(re.findall(r'href="([^"]+)"', html)) - {settings.SITE_URL + "/"}:
        assert href.startswith(settings.SITE_URL + "/")
        assert browser.get(href[len(settings.SITE_URL) :]).status_code == 200, href
    # The "like this one" link turns off reminders of this kind only.
    link = re.search(r"Stop e-mails like this one \([^)]*\): (\S+)", message.body).group(1)
    assert Client().post(link[len(settings.SITE_URL) :]).status_code == 200
    schedule(user, key="b", before=10)
    schedule(user, key="c", kind="reminder.offer_due", before=10)
    clock(DEADLINE - timedelta(hours=9))
    assert services.reminders_send_due() == 2
    assert [m.subject for m in mail.outbox[1:]] == [message.subject]  # only the offer one
    assert Notification.objects.filter(recipient=user).count() == 3  # all in the inbox


def test_the_sweep_is_in_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["notifications-send-due-reminders"]
    assert entry["task"] == send_due_reminders.name and entry["schedule"] == 60.0


@pytest.mark.parametrize("future", [5, 50])
def test_sweep_cost_follows_what_is_due(clock, django_assert_max_num_queries, future):
    """Future reminders add no queries: the sweep reads only what is due (the benchmark
    bench/reminders.py measures the time at 10,000 and 1,000,000 on PostgreSQL)."""
    user = UserFactory()
    for i in range(future):
        services.reminder_schedule(
            key=f"future:{i}",
            recipient=user,
            kind="reminder.milestone_due",
            title="later",
            send_at=timezone.now() + timedelta(days=30 + i),
        )
    with django_assert_max_num_queries(3):  # BEGIN, SELECT ... FOR UPDATE, COMMIT
        assert services.reminders_send_due() == 0


def test_a_deadline_passing_during_a_long_sweep_is_respected(clock, time_machine):
    """The sweep picks what was due when it started; a deadline that passes while it runs
    (a slow batch before) is not reminded after the fact."""
    user = UserFactory()
    schedule(user, key="early", before=1)
    schedule(user, key="tight", before=0.5)  # deadline at DEADLINE
    start = DEADLINE - timedelta(minutes=1)
    clock(start)
    real_notify = services.notify

    def slow_notify(**kwargs):
        result = real_notify(**kwargs)
        time_machine.move_to(DEADLINE + timedelta(seconds=5), tick=False)  # the batch was slow
        return result

    with mock.patch.object(services, "notify", slow_notify):
        assert services.reminders_send_due(now=start, batch_size=1) == 1
    assert list(Notification.objects.values_list("dedupe_key", flat=True)) == ["reminder:early"]
    assert Reminder.objects.get(key="tight").cancelled_at == DEADLINE + timedelta(seconds=5)
