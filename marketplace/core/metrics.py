"""Prometheus metrics at ``/metrics``, for an operator (and only for one).

- Requests, database and cache: django-prometheus (its middleware, database backend and the
  cache counters of ``TolerantRedisCache``).
- Celery tasks: every process that runs tasks adds to counters kept in the shared cache (Redis in
  production), so the web node's ``/metrics`` shows the whole cluster's task counts, failures and
  durations without scraping each worker: ``celery_tasks_total{task,state}`` and
  ``celery_task_duration_seconds{task}`` (a summary: ``_sum`` and ``_count``).
- Queue lengths (``celery_queue_length{queue}``), asked of the broker at scrape time.
- Business numbers: the project registers them (``marketplace/metrics.py``) with
  ``register_collector``; core knows no app.

Access: a request with ``Authorization: Bearer <METRICS_TOKEN>``, or from an address inside
``METRICS_ALLOWED_NETWORKS``; anyone else gets 403. With several gunicorn workers set
``PROMETHEUS_MULTIPROC_DIR`` so that the request metrics of all of them are summed
(``gunicorn.conf.py`` empties the folder when gunicorn starts and marks exited workers dead).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable

from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

STATES = ("SUCCESS", "FAILURE", "RETRY")
_started: dict[str, float] = {}


# --- Task counters (written by whichever process runs the task) ---------------------------------


def _bump(key: str, amount: int) -> None:
    try:
        cache.incr(key, amount)
    except ValueError:
        if not cache.add(key, amount, timeout=None):
            cache.incr(key, amount)  # another process created it meanwhile


@task_prerun.connect(weak=False, dispatch_uid="metrics-task-start")
def _task_started(task_id=None, **kwargs):
    _started[task_id] = time.monotonic()


@task_postrun.connect(weak=False, dispatch_uid="metrics-task-end")
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    if task is None or state not in STATES:
        return
    try:
        _bump(f"metrics:task:{task.name}:{state}", 1)
        if started is not None:
            _bump(f"metrics:task_ms:{task.name}", int((time.monotonic() - started) * 1000))
    except Exception:  # noqa: BLE001 - metrics never fail a task
        logger.warning("task metrics not recorded for %s", task.name, exc_info=True)


class TaskCollector:
    def collect(self) -> Iterable:
        from marketplace.celery import app

        # A web process registers a task only when some code of its imported the task's module;
        # the cluster's counters are about every task, so every tasks.py is imported first.
        app.loader.import_default_modules()
        names = sorted(n for n in app.tasks if not n.startswith("celery."))
        keys = [f"metrics:task:{n}:{s}" for n in names for s in STATES]
        keys += [f"metrics:task_ms:{n}" for n in names]
        found = cache.get_many(keys)
        counts = CounterMetricFamily(
            "celery_tasks", "Tasks run, by final state", labels=["task", "state"]
        )
        durations = SummaryMetricFamily(
            "celery_task_duration_seconds", "Time tasks took to run", labels=["task"]
        )
        for name in names:
            finished = 0
            for state in STATES:
                value = found.get(f"metrics:task:{name}:{state}", 0)
                counts.add_metric([name, state], value)
                finished += value if state != "RETRY" else 0
            total_ms = found.get(f"metrics:task_ms:{name}", 0)
            durations.add_metric([name], count_value=finished, sum_value=total_ms / 1000)
        yield counts
        yield durations


class QueueCollector:
    def collect(self) -> Iterable:
        from marketplace.celery import app

        gauge = GaugeMetricFamily("celery_queue_length", "Messages waiting", labels=["queue"])
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                channel = conn.default_channel
                for queue in app.conf.task_queues:
                    # Declaring is idempotent (a worker does the same) and answers the size.
                    declared = channel.queue_declare(
                        queue=queue.name, durable=True, auto_delete=False
                    )
                    gauge.add_metric([queue.name], declared.message_count)
        except Exception:  # noqa: BLE001 - a broker that is down shows as missing samples
            logger.warning("queue lengths not available", exc_info=True)
        yield gauge


# --- Registry and view -------------------------------------------------------------------------

_collectors: list = [TaskCollector(), QueueCollector()]


def register_collector(collector) -> None:
    """Add a collector (an object with ``collect()``) to what ``/metrics`` answers."""
    _collectors.append(collector)


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n) for n in settings.METRICS_ALLOWED_NETWORKS)


def _process_registry() -> CollectorRegistry:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@require_safe
@never_cache
def metrics_view(request) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("metrics: forbidden\n", status=403, content_type="text/plain")
    extra = CollectorRegistry(auto_describe=False)
    for collector in _collectors:
        extra.register(collector)
    body = generate_latest(_process_registry()) + generate_latest(extra)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def cached_numbers(key: str, seconds: int, compute: Callable[[], dict]) -> dict:
    """Business numbers cost queries: computed at most every ``seconds`` per process."""
    now = time.monotonic()
    found = _numbers.get(key)
    if found is None or now - found[0] > seconds:
        found = (now, compute())
        _numbers[key] = found
    return found[1]


_numbers: dict[str, tuple[float, dict]] = {}
