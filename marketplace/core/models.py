from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """One record per transition or money movement, written in the same transaction.

    ``action`` is a dotted name (``posting.approved``, ``payout.paid``); the target is named by
    its model label and primary key so that the core app depends on no other app.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}#{self.target_id}"


class OutboxMessage(models.Model):
    """A task message that could not be sent because the broker did not answer.

    Written by ``marketplace.core.outbox`` after the write that enqueued the task has committed;
    beat's ``core.outbox_flush`` sends it again once the broker is back and deletes the row.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task} (kept {self.created_at:%Y-%m-%d %H:%M})"
