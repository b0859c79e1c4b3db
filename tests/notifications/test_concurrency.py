"""Two sweeps at the same moment on PostgreSQL: each reminder is sent exactly once.

Each thread has its own database connection (Django's connections are per thread), so these are
two real concurrent transactions with row locks, as two beat sweeps on two workers would be.
"""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from notifications import services
from notifications.models import Notification, Reminder
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _celery_join_flag():
    """Eager tasks flip Celery's process-global "join would block" flag while they run; two
    threads running eager tasks at once can leave it set. Put it back for the next tests."""
    from celery._state import _set_task_join_will_block

    yield
    _set_task_join_will_block(False)


def _due_reminders(count: int, users) -> None:
    now = timezone.now()
    for i in range(count):
        services.reminder_schedule(
            key=f"concurrent:{i}",
            recipient=users[i % len(users)],
            kind="reminder.milestone_due",
            title=f"Reminder {i}",
            send_at=now - timedelta(minutes=1, seconds=i),
            expires_at=now + timedelta(hours=2),
            link="/notifications/",
        )


def _in_thread(name: str, target, results: dict) -> threading.Thread:
    def run():
        try:
            results[name] = target()
        except BaseException as exc:  # reported by the assertions below
            results[name] = exc
        finally:
            connection.close()  # this thread's own connection

    return threading.Thread(target=run, name=name)


def _assert_each_sent_once(count: int) -> None:
    keys = list(Notification.objects.values_list("dedupe_key", flat=True))
    assert sorted(keys) == sorted(f"reminder:concurrent:{i}" for i in range(count))
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()
    assert len(mail.outbox) == count
    assert len({m.subject for m in mail.outbox}) == count


def test_second_sweep_skips_the_rows_the_first_holds_and_sends_the_rest():
    """Sweep A locks its first batch and pauses inside its transaction; sweep B runs meanwhile,
    must not wait for A's locks (SKIP LOCKED), and sends everything else. Then A finishes."""
    users = UserFactory.create_batch(4)
    _due_reminders(20, users)
    a_holds_locks, b_finished = threading.Event(), threading.Event()
    real_notify = services.notify

    def notify(**kwargs):
        if threading.current_thread().name == "sweep-a" and not a_holds_locks.is_set():
            a_holds_locks.set()
            assert b_finished.wait(timeout=20), "sweep B waited for sweep A's locks"
        return real_notify(**kwargs)

    def sweep_b():
        assert a_holds_locks.wait(timeout=20)
        try:
            return services.reminders_send_due(batch_size=5)
        finally:
            b_finished.set()

    results: dict = {}
    with mock.patch.object(services, "notify", notify):
        threads = [
            _in_thread("sweep-a", lambda: services.reminders_send_due(batch_size=5), results),
            _in_thread("sweep-b", sweep_b, results),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert results == {"sweep-a": 5, "sweep-b": 15}
    _assert_each_sent_once(20)


def test_two_sweeps_started_together_send_each_once():
    users = UserFactory.create_batch(5)
    _due_reminders(200, users)
    start = threading.Barrier(2)

    def sweep():
        start.wait(timeout=20)
        return services.reminders_send_due(batch_size=10)

    results: dict = {}
    threads = [_in_thread(f"sweep-{n}", sweep, results) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(sent, int) for sent in results.values()), results
    assert sum(results.values()) == 200
    _assert_each_sent_once(200)


def test_a_locked_user_row_neither_blocks_nor_hides_a_due_reminder():
    """The sweep locks only reminder rows (FOR UPDATE OF): a transaction updating the user's row
    (a login writing last_login, a profile save) does not make the sweep skip or wait. Locking
    the joined user row too would make SKIP LOCKED pass over this reminder."""
    user = UserFactory()
    _due_reminders(1, [user])
    locked, release = threading.Event(), threading.Event()

    def hold_user_row():
        with transaction.atomic():
            # What a login does: an UPDATE of a non-key column (a FOR NO KEY UPDATE row lock).
            User.objects.filter(pk=user.pk).update(last_login=timezone.now())
            locked.set()
            release.wait(timeout=20)

    results: dict = {}
    holder = _in_thread("holder", hold_user_row, results)
    holder.start()
    try:
        assert locked.wait(timeout=20)
        sweep = _in_thread("sweep", lambda: services.reminders_send_due(), results)
        sweep.start()
        sweep.join(timeout=10)
        assert not sweep.is_alive(), "the sweep waited for the user's row"
    finally:
        release.set()
        holder.join(timeout=20)
    assert results["sweep"] == 1
    _assert_each_sent_once(1)
