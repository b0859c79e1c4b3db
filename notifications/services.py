"""The one way every app tells a user something: ``notify()``; scheduled reminders; the inbox
and e-mail preferences.

Contract for the other apps (keep these signatures stable):

* ``notify(recipient=, kind=, title=, dedupe_key=, body="", link="")`` inside the transaction of
  the change it reports. The e-mail is enqueued when the transaction commits (one task for all
  the notifications of that transaction): a rolled-back change notifies nobody, and a committed
  one is e-mailed once, unless the recipient switched e-mail off for that kind (the in-app
  notification is always kept). To notify many people, ``notify_many()``.
* ``reminder_schedule(key=, recipient=, kind=, title=, send_at=, expires_at=, body="", link="")``
  when a deadline becomes known; ``reminder_cancel(key_prefix=)`` when the thing is done.
  Keys are deterministic from ids, e.g. ``f"milestone:{id}:due:48h"``.
* ``reminders_send_due()`` is the beat sweep (every minute).
"""

import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted

from .kinds import KINDS, UNSUBSCRIBE_ALL
from .models import Notification, NotificationSettings, Reminder, new_calendar_token

logger = logging.getLogger(__name__)


# --- Notifications ------------------------------------------------------------------------------


def notify(
    *,
    recipient,
    kind: str,
    title: str,
    dedupe_key: str,
    body: str = "",
    link: str = "",
    enqueue_email: bool = True,
) -> Notification | None:
    """Write an in-app notification and send its e-mail after the transaction commits.

    Exactly once per ``dedupe_key``: a second call with the same key returns None and sends
    nothing. Call it inside the transaction of the change it reports, so that a rolled-back change
    notifies nobody. Whether an e-mail goes out is decided when it is sent (the recipient's
    preferences at that moment), see ``notifications.emails``.

    The e-mails of all notifications written in one transaction go out as one task (one
    database transaction and one mail server connection for all of them). ``enqueue_email=False``
    is for callers that enqueue the e-mails themselves (``notify_many``, the reminder sweep): see
    ``emails_enqueue``.
    """
    if kind not in KINDS:
        logger.warning("notify() with a kind that is not in notifications.kinds: %s", kind)
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
    if enqueue_email:
        _email_on_commit(notification.pk)
    return notification


EMAIL_BATCH_SIZE = 100
_local = threading.local()


class _TransactionEmails:
    """The e-mails of the notifications written in one transaction: one task on commit.

    A service that notifies several people in one transaction (the student and each member of
    the organisation, say) enqueues one batch task rather than one task per e-mail.

    Each notification registers its own ``transaction.on_commit`` callback. Django drops the
    callbacks of a rolled-back transaction or savepoint and runs the others one after another
    right after the commit; the first of them sends the whole batch and the rest find it sent.
    A rolled-back notification's id may still be in the batch (or the batch may be left over
    from a rolled-back transaction), so the ids are filtered to the rows that were committed.
    """

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.sent = False

    def committed(self) -> None:  # runs after the commit, once per surviving notification
        if self.sent:
            return
        self.sent = True
        if getattr(_local, "emails", None) is self:
            _local.emails = None
        from .tasks import send_notification_emails

        ids = list(
            Notification.objects.filter(pk__in=set(self.ids))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(ids), EMAIL_BATCH_SIZE):
            send_notification_emails.delay(ids[start : start + EMAIL_BATCH_SIZE])


def _email_on_commit(notification_id: int) -> None:
    batch = getattr(_local, "emails", None)
    if batch is None or batch.sent:
        batch = _local.emails = _TransactionEmails()
    batch.ids.append(notification_id)
    transaction.on_commit(batch.committed)  # outside a transaction: at once


def emails_enqueue(*, notification_ids: list[int]) -> None:
    """Enqueue the e-mails of these notifications after commit, in batches (one task, one
    transaction and one mail server connection per batch instead of one per e-mail)."""
    from .tasks import send_notification_emails

    for start in range(0, len(notification_ids), EMAIL_BATCH_SIZE):
        send_notification_emails.delay_on_commit(notification_ids[start : start + EMAIL_BATCH_SIZE])


def notify_many(*, recipients: Iterable, kind: str, title: str, dedupe_key: str, **kwargs) -> int:
    """``notify()`` each recipient; the dedupe key gets the recipient's id appended. The
    e-mails are enqueued as one batch after commit."""
    created = []
    for user in recipients:
        notification = notify(
            recipient=user,
            kind=kind,
            title=title,
            dedupe_key=f"{dedupe_key}:u{user.pk}",
            enqueue_email=False,
            **kwargs,
        )
        if notification:
            created.append(notification.pk)
    emails_enqueue(notification_ids=created)
    return len(created)


def notification_mark_read(*, notification: Notification, actor) -> bool:
    """Mark one notification read; True if it was unread. Only its recipient may."""
    if notification.recipient_id != actor.pk:
        raise NotPermitted("This is not your notification.")
    now = timezone.now()
    # A conditional UPDATE: two clicks at once mark it once and keep the first read time.
    updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=now
    )
    if updated:
        notification.read_at = now
    return bool(updated)


def notifications_mark_all_read(*, actor) -> int:
    """Mark every unread notification of ``actor`` read; returns how many were unread."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_emails_requeue(
    *, now: datetime | None = None, older_than: timedelta | None = None
) -> int:
    """Enqueue again the e-mails whose task was lost (the outbox sweep).

    A notification's e-mail task is enqueued after commit; if the broker was unreachable at that
    moment the row stays ``pending``. Rows pending for longer than ``older_than`` (and younger
    than ``NOTIFICATION_EMAIL_MAX_AGE``: a day-old e-mail is not worth sending) are enqueued again.
    Sending is idempotent (the row is locked and its status checked), so a slow queue that still
    holds the first task sends nothing twice.
    """
    now = now or timezone.now()
    older_than = older_than or settings.NOTIFICATION_EMAIL_REQUEUE_AFTER
    ids = list(
        Notification.objects.filter(
            email_status=Notification.EmailStatus.PENDING,
            created_at__lte=now - older_than,
            created_at__gte=now - settings.NOTIFICATION_EMAIL_MAX_AGE,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:1000]
    )
    emails_enqueue(notification_ids=ids)
    return len(ids)


# --- Preferences and the calendar token -----------------------------------------------------


def notification_settings_get(*, user) -> NotificationSettings:
    """The user's settings row, created with the defaults (every e-mail on) on first use."""
    found = NotificationSettings.objects.filter(user=user).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return NotificationSettings.objects.create(user=user)
    except IntegrityError:  # created by a concurrent request
        return NotificationSettings.objects.get(user=user)


def notification_preferences_update(
    *,
    user,
    actor,
    email_enabled: bool | None = None,
    kinds: dict[str, bool] | None = None,
) -> NotificationSettings:
    """Switch e-mail on or off altogether (``email_enabled``) or per kind (``kinds``).

    Only the kinds given change. Unknown kinds are refused with a field error.
    """
    if actor.pk != user.pk:
        raise NotPermitted("You can only change your own notification preferences.")
    kinds = kinds or {}
    unknown = sorted(kind for kind in kinds if kind not in KINDS)
    if unknown:
        raise DomainError(
            f"Unknown notification kind: {', '.join(unknown)}.",
            code="unknown_kind",
            fields={"kinds": [f"Unknown notification kind: {kind}." for kind in unknown]},
        )
    notification_settings_get(user=user)
    with transaction.atomic():
        prefs = NotificationSettings.objects.select_for_update().get(user=user)
        muted = set(prefs.email_muted_kinds)
        for kind, wanted in kinds.items():
            if wanted:
                muted.discard(kind)
            else:
                muted.add(kind)
        before = (prefs.email_enabled, sorted(prefs.email_muted_kinds))
        if email_enabled is not None:
            prefs.email_enabled = email_enabled
        prefs.email_muted_kinds = sorted(muted)
        if (prefs.email_enabled, prefs.email_muted_kinds) != before:
            prefs.save(update_fields=["email_enabled", "email_muted_kinds", "updated_at"])
            audit(
                action="notifications.preferences_changed",
                target=prefs,
                actor=actor,
                email_enabled=prefs.email_enabled,
                muted=prefs.email_muted_kinds,
            )
    return prefs


def email_unsubscribe(*, user, kind: str) -> NotificationSettings:
    """Turn e-mail off for ``kind`` (or for everything with ``"*"``): the unsubscribe link.

    The signed link is the authority here (the person may not be logged in), so the actor is the
    user the link was made for. Running it twice changes nothing the second time.
    """
    if kind == UNSUBSCRIBE_ALL:
        return notification_preferences_update(user=user, actor=user, email_enabled=False)
    return notification_preferences_update(user=user, actor=user, kinds={kind: False})


def calendar_token_regenerate(*, user, actor) -> NotificationSettings:
    """A new secret calendar URL; the old one stops working at once."""
    if actor.pk != user.pk:
        raise NotPermitted("You can only replace your own calendar link.")
    notification_settings_get(user=user)
    with transaction.atomic():
        prefs = NotificationSettings.objects.select_for_update().get(user=user)
        prefs.calendar_token = new_calendar_token()
        prefs.save(update_fields=["calendar_token", "updated_at"])
        audit(action="notifications.calendar_token_regenerated", target=prefs, actor=actor)
    return prefs


# --- Reminders ----------------------------------------------------------------------------------


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
    reschedule: bool = False,
) -> Reminder | None:
    """Schedule a reminder once per ``key`` (scheduling the same key again changes nothing).

    A reminder whose moment is not before its ``expires_at`` is not scheduled at all. With
    ``reschedule=True`` a pending reminder with this key takes the new time, deadline and texts
    (e.g. a milestone's due date moved); a reminder already sent or cancelled is left alone.
    """
    if expires_at is not None and send_at >= expires_at:
        if reschedule:
            reminder_cancel(key_prefix=key[:200], exact=True)
        return None
    values = {
        "recipient": recipient,
        "kind": kind,
        "title": title[:200],
        "body": body,
        "link": link[:500],
        "send_at": send_at,
        "expires_at": expires_at,
    }
    try:
        with transaction.atomic():
            reminder, created = Reminder.objects.get_or_create(key=key[:200], defaults=values)
    except IntegrityError:  # scheduled by a concurrent transaction
        reminder, created = Reminder.objects.get(key=key[:200]), False
    if reschedule and not created:
        Reminder.objects.filter(
            pk=reminder.pk, sent_at__isnull=True, cancelled_at__isnull=True
        ).update(**values)
        reminder.refresh_from_db()
    return reminder


def reminder_cancel(*, key_prefix: str, exact: bool = False) -> int:
    """Cancel every pending reminder whose key starts with ``key_prefix`` (the thing is done).

    With ``exact=True`` only the reminder with exactly that key.
    """
    reminders = Reminder.objects.filter(sent_at__isnull=True, cancelled_at__isnull=True)
    reminders = (
        reminders.filter(key=key_prefix) if exact else reminders.filter(key__startswith=key_prefix)
    )
    return reminders.update(cancelled_at=timezone.now())


def reminders_send_due(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Send the reminders that are due. Safe to run concurrently and to re-run after a crash.

    Each batch is one transaction: rows are locked with SKIP LOCKED (two sweeps never pick the
    same row, and neither waits for the other), the notification is written with the reminder's
    key as dedupe key, and the row is marked sent. A crash rolls the whole batch back (the
    notifications too, and their e-mails were only to be enqueued on commit); the next sweep picks
    it up again. Only the reminder rows are locked (their users are read in a second query, and
    ``of=("self",)`` keeps it so), so a sweep never blocks or skips because someone logs in.

    The query walks the partial index ``reminder_pending_due`` (pending rows by ``send_at``) from
    its start and stops at the first row not yet due: its cost follows what is due, not how many
    reminders wait in the future.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.REMINDER_BATCH_SIZE
    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(sent_at__isnull=True, cancelled_at__isnull=True, send_at__lte=now)
                .prefetch_related("recipient")
                .order_by("send_at")[:batch_size]
            )
            if not due:
                return sent
            created = []
            # A long sweep must not remind after a deadline that passed while it ran.
            moment = max(now, timezone.now())
            for reminder in due:
                if reminder.expires_at is None or reminder.expires_at > moment:
                    notification = notify(
                        recipient=reminder.recipient,
                        kind=reminder.kind,
                        title=reminder.title,
                        body=reminder.body,
                        link=reminder.link,
                        dedupe_key=f"reminder:{reminder.key}",
                        enqueue_email=False,
                    )
                    if notification:
                        created.append(notification.pk)
                    reminder.sent_at = moment
                else:
                    reminder.cancelled_at = moment  # the deadline passed: too late to remind
            Reminder.objects.bulk_update(due, ["sent_at", "cancelled_at"])
            emails_enqueue(notification_ids=created)  # after this batch commits
            sent += len(created)
