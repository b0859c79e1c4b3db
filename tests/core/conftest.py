"""Fixtures for the infrastructure tests: a real Celery worker, Django in a subprocess, and a
real S3 API server."""

import contextlib
from unittest import mock

import pytest

from marketplace.celery import app as celery_app

from .django_process import DjangoProcess


def _noop(self, **kwargs) -> None:
    return None


@pytest.fixture
def running_worker():
    """A real Celery worker (solo pool, in a thread) consuming from the broker in REDIS_URL.

    Tasks stop being eager for the test, so ``delay()`` really goes through Redis and back. Use
    with ``@pytest.mark.celery_worker`` (skipped without REDIS_URL, failing in CI).
    """
    from celery.contrib.testing.worker import start_worker
    from celery.fixups.django import DjangoWorkerFixup

    conf = celery_app.conf
    previous = conf.task_always_eager
    conf.task_always_eager = False
    # Start from an empty queue: nothing left from an earlier run is delivered to this worker.
    with celery_app.connection_for_write() as conn:
        for queue in conf.task_queues:
            conn.default_channel.queue_purge(queue.name)
    stack = contextlib.ExitStack()
    try:
        # Celery's Django fix-up closes the database connections of the thread that starts a
        # worker (as if it were a new worker process); here that is the test's own connection,
        # inside its transaction. Keep it open: the worker thread's own connections are still
        # closed around each task.
        with (
            mock.patch.object(DjangoWorkerFixup, "close_database", _noop),
            mock.patch.object(DjangoWorkerFixup, "on_worker_process_init", _noop),
        ):
            worker = stack.enter_context(
                start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30)
            )
        yield worker
    finally:
        stack.close()
        conf.task_always_eager = previous


@pytest.fixture
def not_eager():
    """Tasks are sent to the broker (no worker is started)."""
    conf = celery_app.conf
    previous = conf.task_always_eager
    conf.task_always_eager = False
    yield celery_app
    conf.task_always_eager = previous


@pytest.fixture
def django_process(tmp_path) -> DjangoProcess:
    return DjangoProcess(tmp_path)


@pytest.fixture
def django_env(django_process) -> dict[str, str]:
    return django_process.env


@pytest.fixture
def run_django(django_process):
    return django_process.run


@pytest.fixture(scope="module")
def s3_server():
    """A real S3 API server on a free local port (moto's server mode), not a mock of boto3."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
