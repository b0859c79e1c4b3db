"""The sweeps on a real Celery worker over Redis: a submission whose review window has passed is
approved automatically once, even when the sweep is delivered twice, and the closing of a
filled posting's other applications runs after the accepting transaction commits."""

import time

import pytest
import time_machine
from django.db import connections

from applications.models import Application, Milestone
from applications.tasks import auto_approve, close_for_posting
from marketplace.celery import app as celery_app
from notifications.models import Notification
from tests.applications.factories import (
    ApplicationFactory,
    active_assignment,
    first_milestone,
    submit,
)
from tests.factories import CreditPostingFactory

# PostgreSQL too: on SQLite's shared in-memory test database the worker thread's writes and
# this thread's polling lock each other out.
pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def worker():
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    def close_connections(**kwargs):  # the worker thread's own connection, after each task
        connections.close_all()

    task_postrun.connect(close_connections, weak=False, dispatch_uid="apps-close-db")
    conf = celery_app.conf
    eager = conf.task_always_eager
    conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(conf.task_default_queue)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        conf.task_always_eager = eager
        task_postrun.disconnect(dispatch_uid="apps-close-db")


def test_auto_approval_sweep_on_a_real_worker(worker):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submit(milestone)
    milestone.refresh_from_db()
    with time_machine.travel(milestone.review_due_at, tick=True):
        auto_approve.delay()
        auto_approve.delay()  # delivered twice: harmless
        assert wait_for(
            lambda: Milestone.objects.get(pk=milestone.pk).status == Milestone.Status.APPROVED
        )
    milestone.refresh_from_db()
    assert milestone.auto_approved
    assert (
        Notification.objects.filter(kind="milestone.approved", recipient=assignment.student).count()
        == 1
    )


def test_closing_a_filled_posting_on_a_real_worker(worker):
    posting = CreditPostingFactory(
        openings=1, seats_filled=1, status="closed", close_reason="filled"
    )
    waiting = ApplicationFactory(posting=posting)
    close_for_posting.delay(posting.pk)
    assert wait_for(lambda: Application.objects.get(pk=waiting.pk).status == "rejected")
    assert Application.objects.get(pk=waiting.pk).closed_reason == "filled"
