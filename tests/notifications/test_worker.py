"""A real Celery worker and a real beat on Redis: a milestone coming due yields exactly one
reminder e-mail and one inbox entry.

The worker (``start_worker``, solo pool) and beat (``celery.beat`` service with the database
scheduler of production, django-celery-beat) run in threads of this process, so they use the
test database (``transactional_db``: rows are committed, other connections see them) and the
in-memory e-mail outbox. Messages go through Redis both ways: beat publishes the sweep, the
worker runs it, the sweep enqueues the e-mail on commit, the worker sends it.
"""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connections
from django.utils import timezone

from marketplace.celery import app as celery_app
from notifications.models import Notification, Reminder

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SWEEP = "notifications-send-due-reminders"


def wait_for(predicate, *, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture
def worker_and_beat():
    """Call it to start a worker and beat (after the test's rows are written); it returns the
    function that stops them."""
    from contextlib import ExitStack

    from celery import beat
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django_celery_beat.schedulers import DatabaseScheduler

    class Scheduler(DatabaseScheduler):
        def close(self):  # runs in the beat thread as it stops
            super().close()
            connections.close_all()

    def close_worker_connections(**kwargs):  # runs in the worker thread after each task
        connections.close_all()

    # Threads keep their own database connections; closed here, the test database can be
    # dropped at the end of the session.
    task_postrun.connect(close_worker_connections, weak=False, dispatch_uid="tests-close-db")
    conf = celery_app.conf
    previous = {key: conf[key] for key in ("task_always_eager", "beat_schedule")}
    stack = ExitStack()

    def start():
        # Only the reminder sweep, as configured in settings, but every second.
        conf.beat_schedule = {SWEEP: {**settings.CELERY_BEAT_SCHEDULE[SWEEP], "schedule": 1.0}}
        conf.task_always_eager = False
        with celery_app.connection_for_write() as conn:  # nothing from an earlier run
            conn.default_channel.queue_purge(conf.task_default_queue)
        stack.enter_context(
            start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30)
        )
        clock = beat.EmbeddedService(
            celery_app,
            thread=True,
            scheduler_cls=Scheduler,
        )
        clock.start()

        def stop_clock():
            clock.stop()
            clock.join(timeout=10)

        stack.callback(stop_clock)  # beat stops first, then the worker
        return stack.close

    try:
        yield start
    finally:
        stack.close()
        conf.update(previous)
        task_postrun.disconnect(dispatch_uid="tests-close-db")
        connections.close_all()


def test_milestone_coming_due_gives_one_reminder_email_and_one_inbox_entry(
    worker_and_beat, settings
):
    from applications import services as applications
    from applications.models import Milestone
    from tests.applications.factories import accepted_assignment, first_milestone

    # Reminders 2 hours before a milestone is due; the milestone is due in 2 hours and 4 seconds.
    settings.REMINDER_MILESTONE_DUE_BEFORE = [timedelta(hours=2)]
    assignment = accepted_assignment()
    milestone = first_milestone(assignment)
    due = timezone.now() + timedelta(hours=2, seconds=4)
    Milestone.objects.filter(pk=milestone.pk).update(due_at=due)
    applications.assignment_mark_funded(assignment=assignment)  # schedules the reminders

    reminder = Reminder.objects.get(kind="reminder.milestone_due")
    assert reminder.recipient == assignment.student and reminder.expires_at == due
    assert not Notification.objects.filter(kind="reminder.milestone_due").exists()
    stop = worker_and_beat()

    def reminder_emails():
        return [m for m in mail.outbox if m.subject == reminder.title]

    # This thread only watches the outbox while the worker and beat run.
    assert wait_for(reminder_emails, timeout=45), "no reminder e-mail within 45 s"
    # Beat keeps sweeping every second: still one, a few sweeps later.
    time.sleep(4)
    stop()
    emails = reminder_emails()
    assert len(emails) == 1 and emails[0].to == [assignment.student.email]
    assert f"{settings.SITE_URL}/" in emails[0].body
    inbox = Notification.objects.filter(recipient=assignment.student, kind=reminder.kind)
    assert inbox.count() == 1
    entry = inbox.get()
    reminder.refresh_from_db()
    # Sent at the right moment: not before it was due, and by a sweep soon after.
    assert reminder.sent_at is not None
    assert reminder.send_at <= entry.created_at <= reminder.send_at + timedelta(seconds=30)
    assert entry.email_status == Notification.EmailStatus.SENT
