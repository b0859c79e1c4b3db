"""Staff moderation: approve, request changes, reject, suspend, reinstate, remove."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition
from notifications.services import reminder_cancel

from ..cache import postings_changed
from ..models import (
    ModerationDecision,
    Posting,
)
from ._helpers import (
    Status,
    _check_staff,
    _lock,
    _move,
    _notify_employer,
    _require_reason,
)
from .publishing import _publish


def _resolve_reports(posting: Posting, actor: User | None) -> None:
    posting.reports.filter(resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor
    )
    posting.open_reports = 0
    posting.save(update_fields=["open_reports", "updated_at"])


@transaction.atomic
def posting_approve(*, posting: Posting, actor: User, reason: str = "") -> Posting:
    _check_staff(actor)
    posting = _lock(posting)
    if posting.status == Status.PUBLISHED:
        return posting
    if posting.status not in (Status.PENDING_REVIEW, Status.CHANGES_REQUESTED):
        raise InvalidTransition(
            f"Only a posting waiting for review can be approved; this one is "
            f"{posting.get_status_display().lower()}."
        )
    if posting.application_deadline <= timezone.now():
        raise DomainError(
            "The application deadline of this posting has passed: request changes instead.",
            code="deadline_passed",
        )
    _publish(posting, actor=actor, action=ModerationDecision.Action.APPROVE, reason=reason)
    audit(action="posting.approved", target=posting, actor=actor)
    _notify_employer(
        posting,
        kind="posting.approved",
        title=f"Your posting “{posting.title}” is published",
        body="A moderator approved it; students can find it and apply now.",
        key="approved",
    )
    return posting


@transaction.atomic
def posting_request_changes(*, posting: Posting, actor: User, reason: str) -> Posting:
    _check_staff(actor)
    reason = _require_reason(reason, "the changes")
    posting = _lock(posting)
    if posting.status == Status.CHANGES_REQUESTED and posting.moderation_reason == reason:
        return posting
    _move(posting, Status.CHANGES_REQUESTED)
    posting.moderation_reason = reason
    posting.save(update_fields=["status", "moderation_reason", "updated_at"])
    decision = ModerationDecision.objects.create(
        posting=posting,
        actor=actor,
        action=ModerationDecision.Action.REQUEST_CHANGES,
        reason=reason,
    )
    audit(action="posting.changes_requested", target=posting, actor=actor, reason=reason)
    _notify_employer(
        posting,
        kind="posting.changes_requested",
        title=f"Changes requested on “{posting.title}”",
        body=reason,
        key=f"changes_requested:{decision.pk}",
    )
    return posting


@transaction.atomic
def posting_reject(*, posting: Posting, actor: User, reason: str) -> Posting:
    _check_staff(actor)
    reason = _require_reason(reason, "the rejection")
    posting = _lock(posting)
    if posting.status == Status.REJECTED:
        return posting
    _move(posting, Status.REJECTED)
    posting.moderation_reason = reason
    posting.save(update_fields=["status", "moderation_reason", "updated_at"])
    ModerationDecision.objects.create(
        posting=posting, actor=actor, action=ModerationDecision.Action.REJECT, reason=reason
    )
    audit(action="posting.rejected", target=posting, actor=actor, reason=reason)
    _notify_employer(
        posting,
        kind="posting.rejected",
        title=f"Your posting “{posting.title}” was rejected",
        body=reason,
        key="rejected",
    )
    return posting


def _suspend(posting: Posting, *, actor: User | None, reason: str) -> None:
    _move(posting, Status.SUSPENDED)
    posting.moderation_reason = reason
    posting.save(update_fields=["status", "moderation_reason", "updated_at"])
    decision = ModerationDecision.objects.create(
        posting=posting, actor=actor, action=ModerationDecision.Action.SUSPEND, reason=reason
    )
    audit(action="posting.suspended", target=posting, actor=actor, reason=reason)
    postings_changed()
    _notify_employer(
        posting,
        kind="posting.suspended",
        title=f"Your posting “{posting.title}” is suspended",
        body=f"{reason}\n\nIt is hidden from students until a moderator has looked at it.",
        key=f"suspended:{decision.pk}",
    )


@transaction.atomic
def posting_suspend(*, posting: Posting, actor: User, reason: str) -> Posting:
    _check_staff(actor)
    reason = _require_reason(reason, "the suspension")
    posting = _lock(posting)
    if posting.status == Status.SUSPENDED:
        return posting
    _suspend(posting, actor=actor, reason=reason)
    return posting


@transaction.atomic
def posting_reinstate(*, posting: Posting, actor: User, reason: str = "") -> Posting:
    """Publish a suspended posting again; its open reports are resolved."""
    _check_staff(actor)
    posting = _lock(posting)
    if posting.status == Status.PUBLISHED:
        return posting
    if posting.status != Status.SUSPENDED:
        raise InvalidTransition(
            f"Only a suspended posting can be reinstated; this one is "
            f"{posting.get_status_display().lower()}."
        )
    _publish(posting, actor=actor, action=ModerationDecision.Action.REINSTATE, reason=reason)
    _resolve_reports(posting, actor)
    audit(action="posting.reinstated", target=posting, actor=actor)
    return posting


@transaction.atomic
def posting_remove(*, posting: Posting, actor: User, reason: str) -> Posting:
    """Take a published or suspended posting down for good (a published one is suspended
    first, so both steps show in the history)."""
    _check_staff(actor)
    reason = _require_reason(reason, "the removal")
    posting = _lock(posting)
    if posting.status == Status.REMOVED:
        return posting
    if posting.status == Status.PUBLISHED:
        _suspend(posting, actor=actor, reason=reason)
    _move(posting, Status.REMOVED)
    posting.moderation_reason = reason
    posting.save(update_fields=["status", "moderation_reason", "updated_at"])
    ModerationDecision.objects.create(
        posting=posting, actor=actor, action=ModerationDecision.Action.REMOVE, reason=reason
    )
    _resolve_reports(posting, actor)
    reminder_cancel(key_prefix=f"posting:{posting.pk}:")
    audit(action="posting.removed", target=posting, actor=actor, reason=reason)
    postings_changed()
    return posting
