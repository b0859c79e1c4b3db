"""The employer's moves: submit a posting (published at once or held for review), withdraw it."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import InvalidTransition
from notifications.services import reminder_schedule

from ..cache import postings_changed
from ..models import (
    ModerationDecision,
    Posting,
)
from ..rules import Values, posting_flags
from ._helpers import (
    Status,
    _check_member,
    _close,
    _lock,
    _members,
    _move,
)
from .editing import _validate


def _publish(posting: Posting, *, actor: User | None, action: str, reason: str = "") -> None:
    """Publish a locked posting: the decision, the audit record and the deadline reminder."""
    _move(posting, Status.PUBLISHED)
    if posting.published_at is None:
        posting.published_at = timezone.now()
    posting.moderation_reason = ""
    posting.save(update_fields=["status", "published_at", "moderation_reason", "updated_at"])
    ModerationDecision.objects.create(posting=posting, actor=actor, action=action, reason=reason)
    _schedule_deadline_reminder(posting)
    postings_changed()


def _schedule_deadline_reminder(posting: Posting) -> None:
    # Postings cannot read applications (they sit above us in the dependency order), so the
    # reminder's text is generic; the link leads to the posting, where the employer sees them.
    recipient = posting.created_by or next(iter(_members(posting)), None)
    if recipient is None:
        return
    reminder_schedule(
        key=f"posting:{posting.pk}:deadline48",
        recipient=recipient,
        kind="reminder.application_deadline",
        title=f"Applications for “{posting.title}” close in 48 hours",
        body=(
            "The application deadline is in 48 hours. Please answer the applications you have "
            "not answered yet: students see your response rate on your postings."
        ),
        send_at=posting.application_deadline - timedelta(hours=48),
        expires_at=posting.application_deadline,
        link=f"/postings/{posting.pk}/",
    )


@transaction.atomic
def posting_submit(*, posting: Posting, actor: User) -> Posting:
    """Send a draft for review, or publish it at once for a verified employer when no rule
    flags it (a flagged posting always waits for a moderator)."""
    _check_member(posting, actor)
    posting = _lock(posting)
    if posting.status in (Status.PENDING_REVIEW, Status.PUBLISHED):
        return posting
    if posting.status not in Posting.EDITABLE:
        raise InvalidTransition(
            f"A posting that is {posting.get_status_display().lower()} cannot be submitted."
        )
    values = Values.of(posting)
    _validate(values)
    posting.flags = posting_flags(values)
    posting.submitted_at = timezone.now()
    posting.save(update_fields=["flags", "submitted_at", "updated_at"])
    if posting.employer.verified and not posting.flags:
        _publish(posting, actor=actor, action=ModerationDecision.Action.AUTO_PUBLISH)
        audit(action="posting.published", target=posting, actor=actor, review="not needed")
    else:
        _move(posting, Status.PENDING_REVIEW)
        posting.save(update_fields=["status", "updated_at"])
        audit(
            action="posting.submitted",
            target=posting,
            actor=actor,
            flags=[flag["code"] for flag in posting.flags],
        )
    return posting


@transaction.atomic
def posting_withdraw(*, posting: Posting, actor: User) -> Posting:
    """The employer closes the posting (before or after it is published)."""
    _check_member(posting, actor)
    posting = _lock(posting)
    if posting.status == Status.CLOSED:
        return posting
    _close(posting, reason=Posting.CloseReason.WITHDRAWN, actor=actor)
    return posting
