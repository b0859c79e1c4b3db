"""Submissions of a milestone's work, revisions, approval (by hand or automatic) and payment."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, status_move
from notifications.services import notify, notify_many, reminder_cancel, reminder_schedule

from .. import signals
from ..models import (
    Milestone,
    Submission,
    SubmissionFile,
)
from ..uploads import CheckedFile, check_files
from ._helpers import (
    MAX_NOTE,
    AsgStatus,
    MsStatus,
    _clean_links,
    _clean_text,
    _delete_stored,
    _lock_milestone,
    _members,
    _now,
    _require_member,
    _require_student,
    _save_file,
    assignment_link,
)
from .assignments import _complete_if_done


def submission_create(
    *,
    milestone: Milestone,
    actor: User,
    note: str = "",
    links: list[str] | str | None = None,
    files: list[UploadedFile] | None = None,
) -> Submission:
    """The student submits a version of a milestone's deliverable for review.

    Every check runs before anything is written. Files are written through the storage inside
    the transaction; if anything fails, the transaction rolls back and the files already
    written are deleted, so nothing is left half-saved.
    """
    _require_student(actor, milestone.assignment.student_id, "submit work")
    note = _clean_text(note, field="note", label="The note", max_length=MAX_NOTE)
    links = _clean_links(links)
    checked = check_files(
        list(files or []),
        allowed=settings.UPLOAD_ALLOWED_TYPES,
        max_bytes=settings.UPLOAD_MAX_BYTES,
        max_files=settings.UPLOAD_MAX_FILES,
    )
    if not checked and not links:
        message = "Add at least one file or link to your submission."
        raise DomainError(message, code="empty_submission", fields={"files": [message]})

    saved: list[str] = []
    storage = SubmissionFile._meta.get_field("file").storage
    try:
        with transaction.atomic():
            milestone = _lock_milestone(milestone)
            _require_open_for_work(milestone)
            status_move(milestone, MsStatus.SUBMITTED, "milestone")
            now = _now()
            version = milestone.submissions.count() + 1
            submission = Submission.objects.create(
                milestone=milestone, version=version, note=note, links=links, submitted_by=actor
            )
            for item in checked:
                _store_file(submission, item, saved)
            milestone.submitted_at = now
            milestone.review_due_at = now + settings.REVIEW_WINDOW
            milestone.save(update_fields=["status", "submitted_at", "review_due_at"])
            audit(
                action="milestone.submitted",
                target=milestone,
                actor=actor,
                version=version,
                files=len(checked),
            )
            reminder_cancel(key_prefix=f"milestone:{milestone.pk}:due:")
            reminder_cancel(key_prefix=f"milestone:{milestone.pk}:overdue:")
            _tell_reviewers(
                milestone, actor=actor, version=version, review_due_at=milestone.review_due_at
            )
    except BaseException:
        _delete_stored(storage, saved)
        raise
    return submission


def _require_open_for_work(milestone: Milestone) -> None:
    """A version can be submitted while the (locked) milestone's assignment is active and the
    milestone is not already waiting for review."""
    assignment = milestone.assignment
    if assignment.status == AsgStatus.AWAITING_FUNDING:
        raise DomainError(
            "The employer has not funded this assignment yet: the work starts when it is.",
            code="not_funded",
        )
    if assignment.status != AsgStatus.ACTIVE:
        raise DomainError(
            f"This assignment is {assignment.get_status_display().lower()}.",
            code="assignment_closed",
        )
    if milestone.status == MsStatus.SUBMITTED:
        # A second click (or a retried request) must not make a second version.
        raise InvalidTransition("This milestone is already waiting for review.")


def _store_file(submission: Submission, item: CheckedFile, saved: list[str]) -> SubmissionFile:
    """Write one checked upload through the storage and record it (its name is added to
    ``saved``, for deleting if the transaction rolls back)."""
    record = SubmissionFile(
        submission=submission,
        original_name=item.name,
        size=item.size,
        kind=item.kind,
        content_type=item.content_type,
    )
    _save_file(saved, record.file, item)
    record.save()
    return record


def _tell_reviewers(
    milestone: Milestone, *, actor: User, version: int, review_due_at: datetime
) -> None:
    """The employer's team hears of the new version and is reminded before the review
    window ends (after which the work is approved automatically)."""
    assignment = milestone.assignment
    link = assignment_link(assignment)
    members = _members(assignment.posting.employer_id)
    notify_many(
        recipients=members,
        kind="submission.received",
        title=(
            f"{actor.display_name} submitted “{milestone.title}” (version {version}) for review"
        ),
        body=(
            "Review it by "
            f"{timezone.localtime(review_due_at):%Y-%m-%d %H:%M %Z}; "
            "after that it is approved automatically."
        ),
        link=link,
        dedupe_key=f"milestone:{milestone.pk}:submission:v{version}",
    )
    for before in settings.REMINDER_AUTO_APPROVAL_BEFORE:
        hours = int(before.total_seconds() // 3600)
        for member in members:
            reminder_schedule(
                key=f"milestone:{milestone.pk}:review:v{version}:{hours}h:u{member.pk}",
                recipient=member,
                kind="reminder.auto_approval",
                title=(
                    f"“{milestone.title}” is approved automatically in {hours} hours "
                    "unless you review it"
                ),
                send_at=review_due_at - before,
                expires_at=review_due_at,
                link=link,
            )


def _latest_submission(milestone: Milestone) -> Submission | None:
    return milestone.submissions.order_by("-version").first()


def _review_latest(milestone: Milestone, *, outcome: str, actor: User | None, feedback="") -> None:
    latest = _latest_submission(milestone)
    if latest is not None and latest.outcome == Submission.Outcome.PENDING:
        latest.outcome = outcome
        latest.feedback = feedback
        latest.reviewed_by = actor
        latest.reviewed_at = _now()
        latest.save(update_fields=["outcome", "feedback", "reviewed_by", "reviewed_at"])


@transaction.atomic
def milestone_request_revision(*, milestone: Milestone, actor: User, feedback: str) -> Milestone:
    milestone = _lock_milestone(milestone)
    assignment = milestone.assignment
    _require_member(actor, assignment.posting.employer_id, "request a revision")
    if milestone.status == MsStatus.REVISION_REQUESTED:
        return milestone
    status_move(milestone, MsStatus.REVISION_REQUESTED, "milestone")
    if milestone.revisions_used >= assignment.allowed_revisions:
        raise DomainError(
            f"All {assignment.allowed_revisions} revisions allowed for this work are used: "
            "approve it or open a dispute.",
            code="no_revisions_left",
        )
    feedback = _clean_text(
        feedback, field="feedback", label="The feedback", min_length=1, max_length=MAX_NOTE
    )
    milestone.revisions_used += 1
    milestone.review_due_at = None
    milestone.save(update_fields=["status", "revisions_used", "review_due_at"])
    _review_latest(
        milestone, outcome=Submission.Outcome.REVISION_REQUESTED, actor=actor, feedback=feedback
    )
    audit(
        action="milestone.revision_requested",
        target=milestone,
        actor=actor,
        revision=milestone.revisions_used,
    )
    reminder_cancel(key_prefix=f"milestone:{milestone.pk}:review:")
    notify(
        recipient=assignment.student,
        kind="revision.requested",
        title=f"A revision of “{milestone.title}” was requested",
        body=feedback[:500],
        link=assignment_link(assignment),
        dedupe_key=f"milestone:{milestone.pk}:revision:{milestone.revisions_used}",
    )
    return milestone


def _approve(milestone: Milestone, *, actor: User | None, auto: bool) -> None:
    """Approve a locked, submitted milestone."""
    assignment = milestone.assignment
    status_move(milestone, MsStatus.APPROVED, "milestone")
    milestone.approved_at = _now()
    milestone.auto_approved = auto
    milestone.review_due_at = None
    milestone.save(update_fields=["status", "approved_at", "auto_approved", "review_due_at"])
    _review_latest(
        milestone,
        outcome=Submission.Outcome.AUTO_APPROVED if auto else Submission.Outcome.APPROVED,
        actor=actor,
    )
    audit(action="milestone.approved", target=milestone, actor=actor, auto=auto)
    reminder_cancel(key_prefix=f"milestone:{milestone.pk}:review:")
    link = assignment_link(assignment)
    title = (
        f"“{milestone.title}” was approved automatically (the review window ended)"
        if auto
        else f"“{milestone.title}” was approved"
    )
    recipients = [assignment.student]
    if auto:
        recipients += _members(assignment.posting.employer_id)
    for recipient in recipients:
        notify(
            recipient=recipient,
            kind="milestone.approved",
            title=title,
            link=link,
            dedupe_key=f"milestone:{milestone.pk}:approved:u{recipient.pk}",
        )
    signals.send_on_commit(signals.milestone_approved, Milestone, milestone_id=milestone.pk)
    if milestone.amount == 0:
        # Nothing to pay (academic credit): approval is final.
        _complete_if_done(assignment.pk)


@transaction.atomic
def milestone_approve(*, milestone: Milestone, actor: User) -> Milestone:
    milestone = _lock_milestone(milestone)
    _require_member(actor, milestone.assignment.posting.employer_id, "approve work")
    if milestone.status in {MsStatus.APPROVED, MsStatus.PAID}:
        return milestone
    _approve(milestone, actor=actor, auto=False)
    return milestone


@transaction.atomic
def milestone_auto_approve(*, milestone: Milestone, now: datetime | None = None) -> bool:
    """Approve a milestone whose review window ended unreviewed (True when this call did)."""
    milestone = _lock_milestone(milestone)
    now = now or _now()
    if (
        milestone.status != MsStatus.SUBMITTED
        or milestone.review_due_at is None
        or milestone.review_due_at > now
        or milestone.assignment.status != AsgStatus.ACTIVE
    ):
        return False
    _approve(milestone, actor=None, auto=True)
    return True


def milestones_auto_approve_due(*, now: datetime | None = None) -> int:
    """The beat sweep over ``Milestone.review_due_at``."""
    now = now or _now()
    approved = 0
    while True:
        with transaction.atomic():
            due = list(
                Milestone.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("assignment__posting", "assignment__student")
                .review_due(now)
                .order_by("review_due_at")[: settings.APPLICATIONS_SWEEP_BATCH_SIZE]
            )
            if not due:
                return approved
            for milestone in due:
                _approve(milestone, actor=None, auto=True)
                approved += 1


@transaction.atomic
def milestone_mark_paid(*, milestone: Milestone, actor: User | None = None) -> Milestone:
    """Payments: the milestone's payout was made. approved -> paid (already paid: as is).

    When every milestone is done the assignment completes."""
    milestone = _lock_milestone(milestone)
    if milestone.status == MsStatus.PAID:
        return milestone
    status_move(milestone, MsStatus.PAID, "milestone")
    milestone.paid_at = _now()
    milestone.save(update_fields=["status", "paid_at"])
    audit(action="milestone.paid", target=milestone, actor=actor, amount=milestone.amount)
    _complete_if_done(milestone.assignment_id)
    return milestone
