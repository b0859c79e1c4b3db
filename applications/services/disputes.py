"""Disputes on a milestone: opened by either side, resolved by staff."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, NotPermitted, status_move
from notifications.services import notify, reminder_cancel

from .. import signals
from ..models import (
    Dispute,
    Milestone,
    Submission,
)
from ._helpers import (
    AsgStatus,
    MsStatus,
    _clean_text,
    _lock_milestone,
    _members,
    _now,
    _require_member,
    assignment_link,
)
from .assignments import _complete_if_done
from .deliverables import _review_latest


@transaction.atomic
def dispute_open(*, milestone: Milestone, actor: User, reason: str) -> Dispute:
    milestone = _lock_milestone(milestone)
    assignment = milestone.assignment
    student_side = actor.pk == assignment.student_id
    if not student_side:
        _require_member(actor, assignment.posting.employer_id, "open a dispute")
    if milestone.status == MsStatus.DISPUTED:
        return milestone.dispute
    if assignment.status != AsgStatus.ACTIVE:
        raise DomainError(
            f"This assignment is {assignment.get_status_display().lower()}: "
            "disputes are for active work.",
            code="assignment_closed",
        )
    status_move(milestone, MsStatus.DISPUTED, "milestone")
    reason = _clean_text(reason, field="reason", label="The reason", min_length=10, max_length=3000)
    milestone.review_due_at = None
    milestone.save(update_fields=["status", "review_due_at"])
    dispute = Dispute.objects.create(milestone=milestone, opened_by=actor, reason=reason)
    _review_latest(milestone, outcome=Submission.Outcome.DISPUTED, actor=actor)
    audit(action="dispute.opened", target=dispute, actor=actor, milestone=milestone.pk)
    reminder_cancel(key_prefix=f"milestone:{milestone.pk}:")
    others = _members(assignment.posting.employer_id) if student_side else [assignment.student]
    staff = list(User.objects.filter(is_staff=True, is_active=True))
    title = f"A dispute was opened on “{milestone.title}” of “{assignment.posting.title}”"
    for recipient in [*others, *staff]:
        notify(
            recipient=recipient,
            kind="dispute.opened",
            title=title,
            body=reason[:500],
            link=assignment_link(assignment),
            dedupe_key=f"dispute:{dispute.pk}:opened:u{recipient.pk}",
        )
    return dispute


def _student_part(resolution: str, amount: int, split: int | None) -> int:
    """What the student receives of the milestone's ``amount``: all of it (release), nothing
    (refund) or the ``split`` staff chose, strictly between the two."""
    if resolution == Dispute.Resolution.RELEASE:
        return amount
    if resolution == Dispute.Resolution.REFUND:
        return 0
    if resolution != Dispute.Resolution.SPLIT:
        raise DomainError(
            "Choose release, refund or split.", fields={"resolution": ["Choose one."]}
        )
    if amount == 0:
        message = "There is no money on this milestone to split: release or refund."
        raise DomainError(message, fields={"resolution": [message]})
    if split is None or not 0 < int(split) < amount:
        message = f"For a split, the student's part must be between 1 and {amount - 1}."
        raise DomainError(message, fields={"student_amount": [message]})
    return int(split)


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    actor: User,
    resolution: str,
    student_amount: int | None = None,
    note: str = "",
    only_open: bool = False,
) -> Dispute:
    """Staff decide: release (all to the student), refund (nothing) or split (a part).

    The decision is recorded here and the milestone becomes resolved; payments moves the money
    (``Dispute.student_amount`` to the student, the rest back to the employer). Deciding again
    changes nothing; with ``only_open`` it is refused (409), for a caller that must not answer
    as if its decision had been taken (the API).
    """
    if not getattr(actor, "is_staff", False):
        raise NotPermitted("Only staff can resolve disputes.")
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.resolved_at is not None:
        if only_open:
            raise InvalidTransition(
                f"This dispute was decided already ({dispute.get_resolution_display()})."
            )
        return dispute
    milestone = _lock_milestone(dispute.milestone)
    student_amount = _student_part(resolution, milestone.amount, student_amount)
    status_move(milestone, MsStatus.RESOLVED, "milestone")
    milestone.save(update_fields=["status"])
    dispute.resolution = resolution
    dispute.student_amount = student_amount
    dispute.resolution_note = (note or "").strip()[:3000]
    dispute.resolved_by = actor
    dispute.resolved_at = _now()
    dispute.save(
        update_fields=[
            "resolution",
            "student_amount",
            "resolution_note",
            "resolved_by",
            "resolved_at",
        ]
    )
    audit(
        action="dispute.resolved",
        target=dispute,
        actor=actor,
        resolution=resolution,
        student_amount=student_amount,
    )
    _tell_resolved(dispute, milestone)
    signals.send_on_commit(signals.dispute_resolved, Dispute, dispute_id=dispute.pk)
    _complete_if_done(milestone.assignment.pk)
    return dispute


def _tell_resolved(dispute: Dispute, milestone: Milestone) -> None:
    """The student and the employer's team hear the decision."""
    assignment = milestone.assignment
    title = f"The dispute on “{milestone.title}” was resolved: {dispute.get_resolution_display()}"
    for recipient in [assignment.student, *_members(assignment.posting.employer_id)]:
        notify(
            recipient=recipient,
            kind="dispute.resolved",
            title=title,
            body=dispute.resolution_note,
            link=assignment_link(assignment),
            dedupe_key=f"dispute:{dispute.pk}:resolved:u{recipient.pk}",
        )
