"""Reads with logic: the inbox, the unread count, preferences as shown, the calendar's owner."""

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from .kinds import grouped_kinds, roles_of
from .models import Notification, NotificationSettings, Reminder

INBOX_PAGE_SIZE = 25


def inbox(*, user, unread_only: bool = False, before: Notification | None = None) -> QuerySet:
    """The user's notifications, newest first; ``before`` is the keyset cursor (the last row of
    the previous page), so a deep page costs the same as the first."""
    notifications = Notification.objects.filter(recipient=user).order_by("-created_at", "-id")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    if before is not None:
        notifications = notifications.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, id__lt=before.id)
        )
    return notifications


def unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_get(*, user, pk: int) -> Notification | None:
    """One of the user's own notifications, or None (someone else's is as good as missing)."""
    return Notification.objects.filter(recipient=user, pk=pk).first()


def email_preferences(*, user) -> tuple[bool, list[tuple[str, list[tuple[str, str, bool]]]]]:
    """``(email_enabled, [(group, [(kind, label, e-mail on), ...]), ...])`` without writing."""
    prefs = NotificationSettings.objects.filter(user=user).first()
    enabled = prefs.email_enabled if prefs else True
    muted = set(prefs.email_muted_kinds) if prefs else set()
    return enabled, [
        (group, [(kind, label, kind not in muted) for kind, label in kinds])
        for group, kinds in grouped_kinds(roles_of(user))
    ]


def user_for_calendar_token(token: str):
    """The active user whose secret calendar token this is, or None."""
    # PostgreSQL refuses a NUL character in a query: such a token matches nothing, without a 500.
    if not token or len(token) > 64 or "\x00" in token:
        return None
    prefs = (
        NotificationSettings.objects.select_related("user")
        .filter(calendar_token=token, user__is_active=True)
        .first()
    )
    return prefs.user if prefs else None


def reminder_deadlines(*, user, kinds, since_days: int = 30) -> list[Reminder]:
    """This user's reminders of ``kinds`` whose deadline (``expires_at``) is at most
    ``since_days`` old, cancelled ones included (the caller drops a deadline that has one: the
    thing was done), for the calendar feed."""
    return list(
        Reminder.objects.filter(
            recipient=user,
            kind__in=list(kinds),
            expires_at__isnull=False,
            expires_at__gte=timezone.now() - timedelta(days=since_days),
        ).order_by("expires_at", "id")[:1000]
    )
