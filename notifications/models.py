"""In-app notifications (sent by e-mail too) and scheduled reminders.

This app imports no other domain app: the others call ``notifications.services`` with the
recipient, a kind, texts and a link, and a dedupe key that makes the effect exactly-once.
"""

import secrets

from django.conf import settings
from django.db import models


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


class Notification(models.Model):
    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not sent (switched off, or no usable address)"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # A dotted kind such as "posting.approved" or "reminder.milestone_due"; preferences use it.
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    # The same dedupe key never makes a second notification: retries and races are harmless.
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # The row is the e-mail outbox: "pending" rows whose task was lost (the broker was down when
    # the transaction committed) are enqueued again by the reminder sweep.
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(email_status="pending"),
                name="notification_email_pending",
            ),
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient}"


class Reminder(models.Model):
    """A notification to send at ``send_at``; the row is the outbox.

    The beat sweep picks due rows with ``select_for_update(skip_locked=True)`` over the partial
    index on ``send_at``, so its cost follows what is due, not what is pending. A reminder is not
    sent after ``expires_at`` (the deadline it is about) and is cancelled when the thing is done.
    """

    key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    send_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["send_at", "id"]
        indexes = [
            models.Index(
                fields=["send_at"],
                condition=models.Q(sent_at__isnull=True, cancelled_at__isnull=True),
                name="reminder_pending_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient} at {self.send_at:%Y-%m-%d %H:%M}"


class NotificationSettings(models.Model):
    """One user's e-mail preferences and their secret calendar feed token.

    In-app notifications are always kept; e-mail goes out only when ``email_enabled`` (the "all"
    switch) is on and the kind is not in ``email_muted_kinds``. Created on first use.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    email_enabled = models.BooleanField(default=True)
    email_muted_kinds = models.JSONField(default=list, blank=True)
    # The calendar feed URL is the only credential of the feed: regenerating it revokes the old one.
    calendar_token = models.CharField(max_length=64, unique=True, default=new_calendar_token)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"Notification settings of {self.user}"

    def wants_email(self, kind: str) -> bool:
        return self.email_enabled and kind not in self.email_muted_kinds
