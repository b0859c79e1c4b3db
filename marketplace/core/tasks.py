from celery import shared_task
from django.conf import settings

from .outbox import outbox_flush as _outbox_flush


@shared_task(name="core.outbox_flush")
def outbox_flush() -> int:
    """Send the task messages kept while the broker was down (see ``marketplace.core.outbox``)."""
    return _outbox_flush(batch=settings.OUTBOX_FLUSH_BATCH)
