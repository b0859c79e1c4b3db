"""Health checks, each answering for one kind of process.

- ``/healthz``: the web process answers (liveness).
- ``/readyz``: what a *web* node needs to serve, and only that: the database, the cache and the
  broker are reachable. It answers in well under a second and never waits for a worker, so a
  stalled worker cannot take the web tier out of the load balancer. 200 when every part is ok,
  503 with ``failing`` naming the parts that are not::

    {"status": "unavailable", "failing": ["broker"],
     "checks": {"database": "ok", "cache": "ok", "broker": "error: OperationalError"}}

- Workers: ``manage.py worker_health --node NAME`` pings that one worker node through the broker.
- Beat: ``manage.py beat_health`` reads the heartbeat that ``HeartbeatScheduler`` writes on every
  tick (``marketplace/core/beat.py``).
"""

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from marketplace.celery import app as celery_app

logger = logging.getLogger(__name__)


@require_safe
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("the database did not answer SELECT 1")


def check_cache() -> None:
    # The production cache answers "not cached" when Redis is down (pages render without it);
    # its ping asks Redis for real.
    ping = getattr(cache, "ping", None)
    if ping is not None:
        ping()
    key = f"readyz:probe:{secrets.token_hex(8)}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was written")
    cache.delete(key)


def check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0.2, interval_step=0.2, timeout=2)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


@require_safe
@never_cache
def readyz(request):
    checks: dict[str, str] = {}
    failing: list[str] = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named below
            logger.warning("readyz: %s is failing", name, exc_info=True)
            # The reason is logged; the public answer names the exception, and the message only
            # in DEBUG (it can carry host names and paths).
            reason = f"{type(exc).__name__}: {exc}" if settings.DEBUG else type(exc).__name__
            checks[name] = f"error: {reason}"
            failing.append(name)
            continue
        checks[name] = "ok"
    body: dict = {"status": "unavailable" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
