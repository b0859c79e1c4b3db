"""``/healthz``: the process answers. ``/readyz``: database, cache, broker and a worker answer."""

import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from marketplace.celery import app as celery_app

from .tasks import readyz_ping


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    key = f"readyz:probe:{secrets.token_hex(4)}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was written")
    cache.delete(key)


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_worker() -> None:
    token = secrets.token_hex(8)
    readyz_ping.delay(token)
    deadline = time.monotonic() + settings.READYZ_TASK_TIMEOUT
    while time.monotonic() < deadline:
        if cache.get(f"readyz:{token}") == "pong":
            cache.delete(f"readyz:{token}")
            return
        time.sleep(0.05)
    raise RuntimeError(f"no worker ran the ping task within {settings.READYZ_TASK_TIMEOUT:g}s")


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "worker": _check_worker,
}


@never_cache
def readyz(request):
    results: dict[str, str] = {}
    failing: list[str] = []
    for name, check in CHECKS.items():
        # The worker round-trip goes through the broker and back through the cache.
        if name == "worker" and failing:
            results[name] = "skipped"
            continue
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named below
            results[name] = f"error: {exc}"
            failing.append(name)
    body = {"status": "ok" if not failing else "unavailable", "checks": results}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
