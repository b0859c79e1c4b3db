"""``/healthz``: the process answers. ``/readyz``: database, cache, broker and a worker answer.

Both answer JSON. ``/readyz`` answers 200 when every part is ok and 503 otherwise, with
``failing`` naming the parts that are not::

    {"status": "unavailable", "failing": ["broker"],
     "checks": {"database": "ok", "cache": "ok", "broker": "error: ...", "worker": "skipped"}}

The worker check is a real round-trip: a ``core.readyz_ping`` task goes through the broker, a
worker runs it and writes its node name into the cache, where this view reads it back (so the
cache must be shared with the worker: Redis, or the file cache of the embedded setup). It is
skipped when the broker or the cache is already failing, because it could only wait and fail.
"""

import logging
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from marketplace.celery import app as celery_app

from .tasks import readyz_key, readyz_ping

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("the database did not answer SELECT 1")
    return "ok"


def check_cache() -> str:
    # The production cache answers "no cache" when Redis is down (pages render without it); its
    # ping asks Redis for real.
    ping = getattr(cache, "ping", None)
    if ping is not None:
        ping()
    key = f"readyz:probe:{secrets.token_hex(8)}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was written")
    cache.delete(key)
    return "ok"


def check_broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0.2, interval_step=0.2, timeout=3)
    return "ok"


def check_worker() -> str:
    """Send a ping task and wait for a worker to answer; returns the answering worker's name."""
    timeout = settings.READYZ_TASK_TIMEOUT
    token = secrets.token_hex(8)
    # The message expires, so pings sent while no worker runs never pile up for a later one.
    readyz_ping.apply_async((token,), expires=max(timeout * 2, 10))
    deadline = time.monotonic() + timeout
    while True:
        node = cache.get(readyz_key(token))
        if node:
            cache.delete(readyz_key(token))
            return node
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no worker ran the ping task within {timeout:g}s")
        time.sleep(0.05)


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "worker": check_worker,
}


@never_cache
def readyz(request):
    checks: dict[str, str] = {}
    failing: list[str] = []
    body: dict = {}
    for name, check in CHECKS.items():
        if name == "worker" and {"broker", "cache"} & set(failing):
            checks[name] = "skipped"
            continue
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named below
            logger.warning("readyz: %s is failing", name, exc_info=True)
            # The reason is logged; the public answer names the exception, and the message only
            # in DEBUG (it can carry host names and paths).
            reason = f"{type(exc).__name__}: {exc}" if settings.DEBUG else type(exc).__name__
            checks[name] = f"error: {reason}"
            failing.append(name)
            continue
        checks[name] = "ok"
        if name == "worker":
            body["worker"] = result
    body = {"status": "unavailable" if failing else "ok", "checks": checks, **body}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
