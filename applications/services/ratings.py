"""Double-blind ratings after completed work, and the student's public record."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError
from notifications.services import notify, reminder_cancel

from ..models import (
    Assignment,
    Rating,
)
from ._helpers import (
    AsgStatus,
    _clean_text,
    _lock_assignment,
    _members,
    _now,
    _require_member,
    _require_student,
    assignment_link,
)
from .reputation import employer_stats_refresh


@transaction.atomic
def rating_create(*, assignment: Assignment, actor: User, score: int, comment: str = "") -> Rating:
    """Rate the other side of a completed assignment (once, within the rating window).

    Double-blind: the rating is published (shown) when both sides have rated or when the
    window closes (``ratings_publish_due``)."""
    assignment = _lock_assignment(assignment)
    employer_id = assignment.posting.employer_id
    student_side = actor.pk == assignment.student_id
    if not student_side:
        _require_member(actor, employer_id, "rate this student")
    direction = Rating.Direction.BY_STUDENT if student_side else Rating.Direction.BY_EMPLOYER
    existing = assignment.ratings.filter(direction=direction).first()
    if existing:
        return existing
    now = _now()
    _require_rating_open(assignment, now)
    rating = Rating.objects.create(
        assignment=assignment,
        direction=direction,
        rater=actor,
        student_id=assignment.student_id,
        employer_id=employer_id,
        score=_clean_score(score),
        comment=_clean_text(comment, field="comment", label="The comment", max_length=2000),
    )
    audit(action="rating.created", target=rating, actor=actor, score=rating.score)
    if student_side:
        reminder_cancel(key_prefix=f"assignment:{assignment.pk}:rating:student")
        ratees = _members(employer_id)
    else:
        reminder_cancel(key_prefix=f"assignment:{assignment.pk}:rating:employer:")
        ratees = [assignment.student]
    other = assignment.ratings.exclude(pk=rating.pk).first()
    if other is not None:
        assignment.ratings.filter(published_at__isnull=True).update(published_at=now)
        rating.published_at = now
    _tell_rated(rating, ratees, both_rated=other is not None)
    if other is not None:
        employer_stats_refresh(employer=employer_id)
    return rating


def _require_rating_open(assignment: Assignment, now: datetime) -> None:
    if assignment.status != AsgStatus.COMPLETED:
        raise DomainError("Ratings open when the assignment is completed.", code="not_completed")
    if assignment.rating_due_at and assignment.rating_due_at <= now:
        raise DomainError("The rating window for this assignment has closed.", code="window_closed")


def _clean_score(score) -> int:
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise DomainError("Choose a score from 1 to 5.", fields={"score": ["From 1 to 5."]})
    return score


def _tell_rated(rating: Rating, ratees: list[User], *, both_rated: bool) -> None:
    assignment = rating.assignment
    for ratee in ratees:
        notify(
            recipient=ratee,
            kind="rating.received",
            title=f"You received a rating for “{assignment.posting.title}”",
            body=(
                "Both sides have rated: see it on the assignment."
                if both_rated
                else "It is shown once you have rated too, or when the rating window closes."
            ),
            link=assignment_link(assignment),
            dedupe_key=f"rating:{rating.pk}:received:u{ratee.pk}",
        )


def ratings_publish_due(*, now: datetime | None = None) -> int:
    """The beat sweep: publish single ratings whose window has closed."""
    now = now or _now()
    published = 0
    while True:
        with transaction.atomic():
            due = list(
                Rating.objects.select_for_update(skip_locked=True, of=("self",)).publish_due(now)[
                    : settings.APPLICATIONS_SWEEP_BATCH_SIZE
                ]
            )
            if not due:
                return published
            Rating.objects.filter(pk__in=[r.pk for r in due]).update(published_at=now)
            for rating in due:
                audit(action="rating.published", target=rating)
            for employer_id in {r.employer_id for r in due}:
                employer_stats_refresh(employer=employer_id)
            published += len(due)


@transaction.atomic
def assignment_set_on_record(*, assignment: Assignment, actor: User, show: bool) -> Assignment:
    """The student chooses whether a completed assignment appears on their public record."""
    assignment = _lock_assignment(assignment)
    _require_student(actor, assignment.student_id, "choose what their record shows")
    if assignment.show_on_record != show:
        assignment.show_on_record = show
        assignment.save(update_fields=["show_on_record"])
        audit(action="assignment.record_visibility", target=assignment, actor=actor, show=show)
    return assignment
