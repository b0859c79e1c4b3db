"""Enqueueing that survives a broker outage.

A service commits its write, then its tasks are sent to the broker (``delay_on_commit``). When
the broker (Redis) does not answer at that moment the write has still happened: the user must
get the success page of that write, and the work must not be lost. So every task of this project
is a ``Task`` below, whose send logs the failure and keeps the message as an ``OutboxMessage``
row instead of raising; beat's ``core.outbox_flush`` sends the kept messages again once the
broker answers. Tasks are idempotent (house rule 6), so a message that both a sweep and the
outbox deliver is harmless.

Periodic tasks (those in ``CELERY_BEAT_SCHEDULE``) are only logged, never kept: beat sends them
again on its next tick anyway. So are tasks that set ``keep_when_broker_down = False``.
"""

from __future__ import annotations

import logging

from celery.contrib.django.task import DjangoTask
from django.db import DatabaseError, transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)


class Task(DjangoTask):
    """The base of every task (``task_cls`` of the Celery app)."""

    keep_when_broker_down = True

    def apply_async(self, args=None, kwargs=None, **options):
        try:
            return super().apply_async(args, kwargs, **options)
        except BrokerUnavailable as exc:
            if not self.keep_when_broker_down or self.name in _periodic(self.app):
                logger.warning("broker unavailable: %s not sent (%s)", self.name, exc)
                return None
            _keep(self.name, args, kwargs, exc)
            return None

    def send_or_raise(self, args=None, kwargs=None, **options):
        """Send without the outbox fallback (the flush itself, which must know)."""
        return super().apply_async(args, kwargs, **options)


def _periodic(app) -> set[str]:
    return {entry["task"] for entry in (app.conf.beat_schedule or {}).values()}


def _keep(name: str, args, kwargs, exc: Exception) -> None:
    from .models import OutboxMessage

    try:
        OutboxMessage.objects.create(
            task=name, args=list(args or ()), kwargs=dict(kwargs or {}), last_error=str(exc)[:500]
        )
    except DatabaseError:
        # Both the broker and the database are down: only the sweeps can find this work now.
        logger.exception("broker unavailable and the outbox not writable: %s%r lost", name, args)
        return
    logger.warning("broker unavailable: %s%r kept in the outbox (%s)", name, tuple(args or ()), exc)


def outbox_flush(*, batch: int = 200) -> int:
    """Send the kept messages, oldest first; stops at the first failure. Returns how many were
    sent. Rows are locked (skip locked), so two flushes never send the same message."""
    from marketplace.celery import app

    from .models import OutboxMessage

    sent = 0
    with transaction.atomic():
        rows = OutboxMessage.objects.select_for_update(skip_locked=True).order_by("id")[:batch]
        for row in rows:
            task = app.tasks.get(row.task)
            if task is None:
                logger.error(
                    "outbox: no task named %s (renamed?); message %s dropped", row.task, row.pk
                )
                row.delete()
                continue
            try:
                task.send_or_raise(row.args, row.kwargs)
            except BrokerUnavailable as exc:
                row.attempts += 1
                row.last_error = str(exc)[:500]
                row.save(update_fields=["attempts", "last_error"])
                logger.warning("outbox: broker still unavailable (%s); %s waits", exc, row.task)
                break
            row.delete()
            sent += 1
    if sent:
        logger.info("outbox: sent %d kept message(s)", sent)
    return sent
