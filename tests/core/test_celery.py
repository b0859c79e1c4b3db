"""The Celery set-up: JSON only, time limits, database beat scheduler, autodiscovered tasks,
beat entries that name real tasks, and tasks that leave a transaction only when it commits."""

import threading
import time

import pytest
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from marketplace.celery import app as celery_app

_ran: dict[str, threading.Event] = {}


@shared_task(name="tests.core.record_run")
def record_run(key: str) -> None:
    _ran[key].set()


def test_only_json_goes_over_the_wire():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_every_task_has_time_limits():
    conf = celery_app.conf
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit


def test_beat_uses_the_database_scheduler():
    from django_celery_beat.schedulers import DatabaseScheduler

    module, _, name = celery_app.conf.beat_scheduler.partition(":")
    assert issubclass(import_string(f"{module}.{name}"), DatabaseScheduler)


def test_tasks_are_autodiscovered_from_the_apps():
    celery_app.loader.import_default_modules()
    assert "core.outbox_flush" in celery_app.tasks
    assert "notifications.send_due_reminders" in celery_app.tasks


def test_every_beat_schedule_entry_names_a_registered_task():
    celery_app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule, "the beat schedule is empty"
    unknown = {
        name: entry["task"]
        for name, entry in schedule.items()
        if entry["task"] not in celery_app.tasks
    }
    assert not unknown, f"beat entries naming tasks that do not exist: {unknown}"
    assert celery_app.conf.beat_schedule == schedule


def test_tasks_run_in_process_under_pytest_unless_a_worker_is_started():
    assert celery_app.conf.task_always_eager
    assert celery_app.conf.task_eager_propagates


def _wait(event: threading.Event, seconds: float) -> bool:
    return event.wait(seconds)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_delay_on_commit_sends_the_task_only_after_commit(running_worker):
    _ran["commit"] = threading.Event()
    with transaction.atomic():
        record_run.delay_on_commit("commit")
        # Inside the transaction nothing has been sent: give a worker time to prove it.
        time.sleep(1.5)
        assert not _ran["commit"].is_set()
    assert _wait(_ran["commit"], 15), "the worker did not run the task after the commit"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_delay_on_commit_never_sends_the_task_after_rollback(running_worker):
    _ran["rollback"] = threading.Event()
    _ran["control"] = threading.Event()

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        record_run.delay_on_commit("rollback")
        raise Rollback
    # A task sent afterwards runs: had the first one been sent, the solo worker would have run
    # it before this one.
    record_run.delay("control")
    assert _wait(_ran["control"], 15)
    assert not _ran["rollback"].is_set()
