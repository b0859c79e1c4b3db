"""An assignment's funding, its cancelling (by agreement, by staff, unfunded) and completion."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted, status_move
from notifications.services import notify, reminder_cancel, reminder_schedule
from postings.services import posting_seat_released

from .. import signals
from ..models import (
    Assignment,
    Submission,
)
from ._helpers import (
    AsgStatus,
    MsStatus,
    _clean_text,
    _lock_assignment,
    _members,
    _now,
    _require_member,
    assignment_link,
)
from .reminders import _cancel_assignment_reminders, _schedule_work_reminders


@transaction.atomic
def assignment_mark_funded(*, assignment: Assignment, actor: User | None = None) -> Assignment:
    """Payments: the funding arrived. awaiting_funding -> active (already active: as is)."""
    assignment = _lock_assignment(assignment)
    if assignment.status in {AsgStatus.ACTIVE, AsgStatus.COMPLETED}:
        return assignment
    status_move(assignment, AsgStatus.ACTIVE, "assignment")
    assignment.funded_at = _now()
    assignment.save(update_fields=["status", "funded_at"])
    audit(action="assignment.funded", target=assignment, actor=actor)
    reminder_cancel(key_prefix=f"assignment:{assignment.pk}:funding:")
    members = _members(assignment.posting.employer_id)
    title = f"The assignment for “{assignment.posting.title}” is funded: the work can start"
    for recipient in [assignment.student, *members]:
        notify(
            recipient=recipient,
            kind="assignment.funded",
            title=title,
            link=assignment_link(assignment),
            dedupe_key=f"assignment:{assignment.pk}:funded:u{recipient.pk}",
        )
    _schedule_work_reminders(assignment, members)
    return assignment


def _cancel(assignment: Assignment, *, actor: User | None, reason: str, action: str) -> None:
    """Cancel a locked, open assignment: the seat is freed and payments refunds."""
    status_move(assignment, AsgStatus.CANCELLED, "assignment")
    assignment.cancelled_at = _now()
    assignment.cancel_reason = reason
    assignment.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    posting_seat_released(posting=assignment.posting)
    audit(action=action, target=assignment, actor=actor, reason=reason)
    _cancel_assignment_reminders(assignment)
    title = f"The assignment for “{assignment.posting.title}” was cancelled"
    for recipient in [assignment.student, *_members(assignment.posting.employer_id)]:
        notify(
            recipient=recipient,
            kind="assignment.cancelled",
            title=title,
            body=reason,
            link=assignment_link(assignment),
            dedupe_key=f"assignment:{assignment.pk}:cancelled:u{recipient.pk}",
        )
    signals.send_on_commit(signals.assignment_cancelled, Assignment, assignment_id=assignment.pk)


@transaction.atomic
def assignment_expire_unfunded(
    *, assignment: Assignment, now: datetime | None = None
) -> Assignment:
    """A paid assignment not funded by ``funding_due_at`` is cancelled; the seat frees."""
    assignment = _lock_assignment(assignment)
    now = now or _now()
    due = assignment.funding_due_at
    if assignment.status != AsgStatus.AWAITING_FUNDING or due is None or due > now:
        return assignment
    _cancel(
        assignment,
        actor=None,
        reason="The employer did not fund the assignment in time.",
        action="assignment.expired_unfunded",
    )
    return assignment


def assignments_expire_unfunded_due(*, now: datetime | None = None) -> int:
    """The beat sweep over ``Assignment.funding_due_at``."""
    now = now or _now()
    expired = 0
    while True:
        with transaction.atomic():
            due = list(
                Assignment.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("posting", "student")
                .funding_due(now)
                .order_by("funding_due_at")[: settings.APPLICATIONS_SWEEP_BATCH_SIZE]
            )
            if not due:
                return expired
            for assignment in due:
                _cancel(
                    assignment,
                    actor=None,
                    reason="The employer did not fund the assignment in time.",
                    action="assignment.expired_unfunded",
                )
                expired += 1


def _has_work(assignment: Assignment) -> bool:
    return Submission.objects.filter(milestone__assignment=assignment).exists()


@transaction.atomic
def assignment_cancel_agree(*, assignment: Assignment, actor: User) -> Assignment:
    """One side agrees to cancel; when both have, the assignment is cancelled.

    Only before any work was submitted: afterwards either side opens a dispute instead.
    """
    assignment = _lock_assignment(assignment)
    student_side = actor.pk == assignment.student_id
    if not student_side:
        _require_member(actor, assignment.posting.employer_id, "cancel this assignment")
    if assignment.status == AsgStatus.CANCELLED:
        return assignment
    if not assignment.is_open:
        raise DomainError("A completed assignment cannot be cancelled.", code="invalid_transition")
    if _has_work(assignment):
        raise DomainError(
            "Work has already been submitted: open a dispute on the milestone instead.",
            code="work_submitted",
        )
    field = "cancel_agreed_by_student_at" if student_side else "cancel_agreed_by_employer_at"
    if getattr(assignment, field) is None:
        setattr(assignment, field, _now())
        assignment.save(update_fields=[field])
        audit(action="assignment.cancel_agreed", target=assignment, actor=actor)
    if assignment.cancel_agreed_by_student_at and assignment.cancel_agreed_by_employer_at:
        _cancel(
            assignment,
            actor=actor,
            reason="Cancelled by agreement of both sides.",
            action="assignment.cancelled",
        )
    else:
        others = _members(assignment.posting.employer_id) if student_side else [assignment.student]
        for recipient in others:
            notify(
                recipient=recipient,
                kind="assignment.cancelled",
                title=(
                    f"{actor.display_name} proposes to cancel the assignment for "
                    f"“{assignment.posting.title}”: agree to cancel it"
                ),
                link=assignment_link(assignment),
                dedupe_key=f"assignment:{assignment.pk}:cancel_proposed:u{recipient.pk}",
            )
    return assignment


@transaction.atomic
def assignment_cancel(*, assignment: Assignment, actor: User, reason: str) -> Assignment:
    """Staff cancel an assignment (no milestone may be waiting for review, approved unpaid,
    or in an open dispute: those are decided first)."""
    if not getattr(actor, "is_staff", False):
        raise NotPermitted("Only staff can cancel an assignment on their own.")
    assignment = _lock_assignment(assignment)
    if assignment.status == AsgStatus.CANCELLED:
        return assignment
    reason = _clean_text(reason, field="reason", label="The reason", min_length=1, max_length=2000)
    busy = assignment.milestones.filter(
        status__in=[MsStatus.SUBMITTED, MsStatus.APPROVED, MsStatus.DISPUTED]
    ).exclude(status=MsStatus.APPROVED, amount=0)
    if busy.exists():
        raise DomainError(
            "A milestone is waiting for review, for payment or for a dispute decision: "
            "decide it first.",
            code="milestone_pending",
        )
    _cancel(assignment, actor=actor, reason=reason, action="assignment.cancelled")
    return assignment


def _complete_if_done(assignment_id: int) -> None:
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("posting", "student")
        .get(pk=assignment_id)
    )
    if assignment.status != AsgStatus.ACTIVE:
        return
    milestones = list(assignment.milestones.all())
    if not milestones or not all(m.is_done for m in milestones):
        return
    now = _now()
    status_move(assignment, AsgStatus.COMPLETED, "assignment")
    assignment.completed_at = now
    assignment.rating_due_at = now + settings.RATING_WINDOW
    assignment.save(update_fields=["status", "completed_at", "rating_due_at"])
    audit(action="assignment.completed", target=assignment)
    _cancel_assignment_reminders(assignment)
    link = assignment_link(assignment)
    title = f"Rate your collaboration on “{assignment.posting.title}” before the window closes"
    send_at = assignment.rating_due_at - settings.REMINDER_RATING_BEFORE
    reminder_schedule(
        key=f"assignment:{assignment.pk}:rating:student",
        recipient=assignment.student,
        kind="reminder.rating_window",
        title=title,
        send_at=send_at,
        expires_at=assignment.rating_due_at,
        link=link,
    )
    for member in _members(assignment.posting.employer_id):
        reminder_schedule(
            key=f"assignment:{assignment.pk}:rating:employer:u{member.pk}",
            recipient=member,
            kind="reminder.rating_window",
            title=title,
            send_at=send_at,
            expires_at=assignment.rating_due_at,
            link=link,
        )
