"""Queues by kind of work: routes, limits and redelivery from one table; payouts are consumed by
a worker of their own; the nightly reconciliation runs in chunks."""

import time

import pytest
from celery.signals import task_prerun
from django.conf import settings

from marketplace.celery import app as celery_app
from marketplace.core.queues import LIMITS, REDELIVERABLE


def queue_of(name: str) -> str:
    return celery_app.amqp.router.route({}, name)["queue"].name


@pytest.fixture(scope="module", autouse=True)
def _tasks_loaded():
    celery_app.loader.import_default_modules()


def test_each_kind_of_work_has_its_queue():
    assert queue_of("payments.release_payout") == "payments"
    assert queue_of("payments.handle_webhook_event") == "payments"
    assert queue_of("notifications.send_emails") == "email"
    assert queue_of("accounts.send_invitation_email") == "email"
    assert queue_of("applications.close_for_posting") == "default"
    assert queue_of("payments.reconcile_chunk") == "sweeps"
    # Every periodic task is a sweep, whichever app it belongs to.
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert queue_of(entry["task"]) == "sweeps", entry["task"]
    assert {q.name for q in celery_app.conf.task_queues} == {
        "payments",
        "email",
        "sweeps",
        "default",
    }


def test_every_task_has_limits_that_fit_and_only_idempotent_tasks_are_redelivered():
    for name, task in celery_app.tasks.items():
        if name.startswith("celery."):
            continue
        assert 0 < task.soft_time_limit < task.time_limit, name
        if name in LIMITS:
            assert (task.soft_time_limit, task.time_limit) == LIMITS[name]
        redelivered = bool(task.acks_late and task.reject_on_worker_lost)
        assert redelivered == (name in REDELIVERABLE), name
    # The longest hard limit is shorter than the time after which Redis delivers a message a
    # dead worker held, so a running task is never delivered twice while it runs.
    longest = max(task.time_limit for task in celery_app.tasks.values() if task.time_limit)
    if settings.REDIS_URL:
        assert longest < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]


@pytest.mark.celery_worker
@pytest.mark.django_db
def test_a_payments_worker_is_not_held_up_by_a_burst_of_email(not_eager):
    """Only a payments worker runs: 50 e-mail messages wait on their queue, a payout message
    is taken at once."""
    from celery.contrib.testing.worker import start_worker

    from notifications.tasks import send_notification_emails
    from payments.tasks import release_payout

    ran: list[str] = []

    def record(sender=None, **kwargs):
        ran.append(sender.name)

    with celery_app.connection_for_write() as conn:
        for queue in celery_app.conf.task_queues:
            conn.default_channel.queue_purge(queue.name)
    task_prerun.connect(record, weak=False, dispatch_uid="queues-record")
    try:
        for _ in range(50):
            send_notification_emails.delay([0])
        with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=["payments"]):
            release_payout.delay(0)  # no such payout: the service returns at once
            deadline = time.monotonic() + 20
            while "payments.release_payout" not in ran and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_prerun.disconnect(dispatch_uid="queues-record")
        # A worker started with queues= narrows the app's own list of queues to consume from;
        # later workers in this process must consume from every queue again.
        celery_app.amqp.queues._consume_from = None
        with celery_app.connection_for_write() as conn:
            waiting = conn.default_channel.queue_purge("email")
    assert ran == ["payments.release_payout"]
    assert waiting == 50
