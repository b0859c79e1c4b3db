"""Completed work as Open Badges 3.0 credentials, and the supervisor's academic-credit sign-off.

A ``Credential`` is one signed version of the credential for an assignment. It is never changed
after signing: when its content must change (the student shows the employer's rating, the
supervisor signs off) a new version is issued and the old one is marked ``superseded`` and set in
the revocation status list, so that a copy someone downloaded earlier no longer verifies.

``status_index`` is the credential's position in the Bitstring Status List: the primary key
(positive, unique, never reused), so no counter needs a lock.

This app reads the applications models and listens to the audit record of a completed
assignment (``receivers.py``); the applications app never imports it.
"""

import uuid

from django.conf import settings
from django.db import models

from applications.models import Assignment


class Credential(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Valid"
        SUPERSEDED = "superseded", "Replaced by a newer version"
        REVOKED = "revoked", "Revoked by the student"

    TRANSITIONS: dict[str, set[str]] = {
        Status.ACTIVE: {Status.SUPERSEDED, Status.REVOKED},
        Status.SUPERSEDED: set(),
        Status.REVOKED: set(),
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="credentials")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    # The signed credential (VC-JWT) and the credential it carries, exactly as signed.
    jwt = models.TextField()
    document = models.JSONField()
    kid = models.CharField(max_length=100)
    issued_at = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    # The student's choices: shown on the public record, and whether the rating is included.
    hidden = models.BooleanField(default=False)
    includes_rating = models.BooleanField(default=False)
    includes_sign_off = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"],
                condition=models.Q(status="active"),
                name="credential_one_active_per_assignment",
            )
        ]
        indexes = [models.Index(fields=["student", "status"], name="credential_student_status")]

    def __str__(self) -> str:
        return f"Credential {self.public_id} ({self.get_status_display()})"

    @property
    def status_index(self) -> int:
        return self.pk

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class SupervisorSignOff(models.Model):
    """The academic supervisor named by the student for a credit assignment, and their answer.

    The supervisor has no account: they act through a signed link that names this row and its
    ``link_nonce``; naming a different supervisor draws a new nonce, so the old link stops working.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the supervisor"
        SIGNED_OFF = "signed_off", "Signed off"
        DECLINED = "declined", "Declined"

    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING: {Status.SIGNED_OFF, Status.DECLINED},
        Status.SIGNED_OFF: set(),
        Status.DECLINED: set(),
    }

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="supervisor_sign_off"
    )
    supervisor_name = models.CharField(max_length=150)
    institution = models.CharField(max_length=200)
    supervisor_email = models.EmailField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    link_nonce = models.CharField(max_length=32)
    # When the e-mail with the link was enqueued (after the assignment completed).
    requested_at = models.DateTimeField(null=True, blank=True)
    # When that e-mail was sent: a task delivered twice sends it once.
    emailed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.supervisor_name} ({self.institution}) for {self.assignment_id}"

    @property
    def is_decided(self) -> bool:
        return self.status != self.Status.PENDING
