"""Employers invite students they completed work with to apply again."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted
from notifications.services import notify
from postings.models import Posting

from ..models import (
    Application,
    Assignment,
    ReInvite,
)
from ._helpers import (
    AsgStatus,
    _clean_text,
    _now,
    _require_member,
)


@transaction.atomic
def reinvite_create(
    *, source_assignment: Assignment, posting: Posting, actor: User, message: str = ""
) -> ReInvite:
    """Invite a student the employer completed work with to apply to another posting."""
    source = Assignment.objects.select_related("posting", "student").get(pk=source_assignment.pk)
    employer_id = source.posting.employer_id
    _require_member(actor, employer_id, "invite students")
    existing = ReInvite.objects.filter(posting=posting, student=source.student).first()
    if existing:
        return existing
    if source.status != AsgStatus.COMPLETED:
        raise DomainError(
            "You can invite a student once you have completed work together.",
            code="not_completed",
        )
    posting = Posting.objects.get(pk=posting.pk)
    if posting.employer_id != employer_id:
        raise NotPermitted("You can only invite students to your own postings.")
    if posting.status != Posting.Status.PUBLISHED or posting.application_deadline <= _now():
        message_text = "Choose a published posting that still takes applications."
        raise DomainError(message_text, fields={"posting": [message_text]})
    if Application.objects.filter(posting=posting, student=source.student).exists():
        message_text = f"{source.student.display_name} has already applied to this posting."
        raise DomainError(message_text, fields={"posting": [message_text]})
    message = _clean_text(message, field="message", label="The message", max_length=2000)
    invite = ReInvite.objects.create(
        posting=posting,
        student=source.student,
        invited_by=actor,
        source_assignment=source,
        message=message,
    )
    audit(action="reinvite.created", target=invite, actor=actor, posting=posting.pk)
    notify(
        recipient=source.student,
        kind="invitation.received",
        title=f"{source.posting.employer} invites you to apply to “{posting.title}”",
        body=message,
        link=reverse("applications:apply", args=[posting.pk]),
        dedupe_key=f"reinvite:{invite.pk}",
    )
    return invite
