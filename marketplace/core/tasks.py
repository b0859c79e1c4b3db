from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from .outbox import outbox_flush as _outbox_flush


def readyz_key(token: str) -> str:
    return f"readyz:{token}"


@shared_task(name="core.readyz_ping", bind=True, ignore_result=True, keep_when_broker_down=False)
def readyz_ping(self, token: str) -> None:
    """The health check's round-trip: a worker proves it runs by writing its name back.

    Eager runs (tests) say so, so that /readyz never passes off an in-process call as a worker.
    """
    node = "eager (in-process)" if self.request.is_eager else (self.request.hostname or "worker")
    cache.set(readyz_key(token), node, timeout=60)


@shared_task(name="core.outbox_flush")
def outbox_flush() -> int:
    """Send the task messages kept while the broker was down (see ``marketplace.core.outbox``)."""
    return _outbox_flush(batch=settings.OUTBOX_FLUSH_BATCH)
