"""The one way every app tells a user something: ``notify()``; and scheduled reminders."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Notification, Reminder

logger = logging.getLogger(__name__)


def notify(
    *,
    recipient,
    kind: str,
    title: str,
    dedupe_key: str,
    body: str = "",
    link: str = "",
) -> Notification | None:
    """Write an in-app notification and send its e-mail after the transaction commits.

    Exactly once per ``dedupe_key``: a second call with the same key returns None and sends
    nothing. Call it inside the transaction of the change it reports, so that a rolled-back change
    notifies nobody.
    """
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                kind=kind,
                title=title[:200],
                body=body,
                link=link[:500],
                dedupe_key=dedupe_key[:200],
            )
    except IntegrityError:
        return None
    from .tasks import send_notification_email

    send_notification_email.delay_on_commit(notification.pk)
    return notification


def notify_many(*, recipients: Iterable, kind: str, title: str, dedupe_key: str, **kwargs) -> int:
    """``notify()`` each recipient; the dedupe key gets the recipient's id appended."""
    sent = 0
    for user in recipients:
        if notify(
            recipient=user, kind=kind, title=title, dedupe_key=f"{dedupe_key}:u{user.pk}", **kwargs
        ):
            sent += 1
    return sent


def reminder_schedule(
    *,
    key: str,
    recipient,
    kind: str,
    title: str,
    send_at: datetime,
    expires_at: datetime | None = None,
    body: str = "",
    link: str = "",
) -> Reminder | None:
    """Schedule a reminder once per ``key`` (scheduling the same key again changes nothing).

    A reminder whose moment has already passed its ``expires_at`` is not scheduled at all.
    """
    if expires_at is not None and send_at >= expires_at:
        return None
    reminder, _ = Reminder.objects.get_or_create(
        key=key[:200],
        defaults={
            "recipient": recipient,
            "kind": kind,
            "title": title[:200],
            "body": body,
            "link": link[:500],
            "send_at": send_at,
            "expires_at": expires_at,
        },
    )
    return reminder


def reminder_cancel(*, key_prefix: str) -> int:
    """Cancel every pending reminder whose key starts with ``key_prefix`` (the thing is done)."""
    return Reminder.objects.filter(
        key__startswith=key_prefix, sent_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=timezone.now())


def reminders_send_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Send the reminders that are due. Safe to run concurrently and to re-run after a crash.

    Each batch is one transaction: rows are locked with SKIP LOCKED (two sweeps never pick the
    same row), the notification is written with the reminder's key as dedupe key, and the row is
    marked sent. A crash rolls the whole batch back; the next sweep picks it up again.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.REMINDER_BATCH_SIZE
    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                Reminder.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True, cancelled_at__isnull=True, send_at__lte=now)
                .select_related("recipient")
                .order_by("send_at")[:batch_size]
            )
            if not due:
                return sent
            for reminder in due:
                if reminder.expires_at is None or reminder.expires_at > now:
                    if notify(
                        recipient=reminder.recipient,
                        kind=reminder.kind,
                        title=reminder.title,
                        body=reminder.body,
                        link=reminder.link,
                        dedupe_key=f"reminder:{reminder.key}",
                    ):
                        sent += 1
                    reminder.sent_at = now
                else:
                    reminder.cancelled_at = now  # the deadline passed: too late to remind
            Reminder.objects.bulk_update(due, ["sent_at", "cancelled_at"])
