"""The health checks of the worker and beat containers: each fails when its own process does."""

import os
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marketplace.celery import app as celery_app
from marketplace.core.beat import HeartbeatScheduler, heartbeat_path


@pytest.mark.celery_worker
@pytest.mark.django_db
def test_worker_health_passes_for_a_running_worker_and_fails_for_another_name(
    running_worker, capsys
):
    call_command("worker_health", node=running_worker.hostname, timeout=5)
    assert f"worker {running_worker.hostname}: ok" in capsys.readouterr().out
    started = time.monotonic()
    with pytest.raises(CommandError, match="no answer within 1s"):
        call_command("worker_health", node="payments@nowhere", timeout=1)
    assert time.monotonic() - started < 3


@pytest.mark.django_db
def test_worker_health_fails_when_the_broker_is_unreachable():
    conf = celery_app.conf
    previous = conf.broker_url
    conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        started = time.monotonic()
        # Depending on the transport, the ping fails to connect or hears nothing: both fail.
        with pytest.raises(CommandError, match="broker is unreachable|no answer within 1s"):
            call_command("worker_health", node="payments@anywhere", timeout=1)
        assert time.monotonic() - started < 10
    finally:
        conf.broker_url = previous
        # The ping pooled a connection to the closed port: later sends must not reuse it.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def test_beat_writes_a_heartbeat_on_each_tick_and_beat_health_reads_it(
    settings, tmp_path, capsys, monkeypatch
):
    settings.BEAT_HEARTBEAT_FILE = str(tmp_path / "beat.heartbeat")
    settings.BEAT_HEARTBEAT_MAX_AGE = 60
    with pytest.raises(CommandError, match="no heartbeat"):
        call_command("beat_health")

    # The database scheduler's own tick (sending what is due) is not what is tested here.
    from django_celery_beat.schedulers import DatabaseScheduler

    monkeypatch.setattr(DatabaseScheduler, "tick", lambda self, *a, **k: 5.0)
    scheduler = HeartbeatScheduler.__new__(HeartbeatScheduler)
    assert scheduler.tick() == 5.0
    call_command("beat_health")
    assert "beat: ok" in capsys.readouterr().out

    # A beat that stopped ticking two minutes ago is reported.
    stale = time.time() - 120
    os.utime(heartbeat_path(), (stale, stale))
    with pytest.raises(CommandError, match="last heartbeat 120s ago"):
        call_command("beat_health")
