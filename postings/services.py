"""Every write to postings goes through here.

Status changes follow ``Posting.TRANSITIONS``: each service locks the row, re-reads it, returns
early when the move already happened (so running it twice is harmless), checks the map, saves
with ``update_fields`` and writes the audit record (and the employer's notification) in the same
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Employer, Membership, User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, NotPermitted, check_transition
from notifications.services import notify, notify_many, reminder_cancel, reminder_schedule

from . import rules
from .cache import postings_changed
from .filters import InvalidFilters, canonical_query, postings_matching
from .models import (
    ModerationDecision,
    Posting,
    PostingMilestone,
    Report,
    SavedSearch,
    SavedSearchHit,
    ScreeningQuestion,
    Skill,
)
from .rules import POSTING_FIELDS, Values, posting_errors, posting_flags
from .selectors import postings_public

Status = Posting.Status
logger = logging.getLogger(__name__)


# --- Helpers ---------------------------------------------------------------------------------


def _lock(posting: Posting) -> Posting:
    return Posting.objects.select_for_update().select_related("employer").get(pk=posting.pk)


def _move(posting: Posting, target: str) -> None:
    check_transition(
        transitions=Posting.TRANSITIONS, current=posting.status, target=target, what="posting"
    )
    posting.status = target


def _members(posting: Posting) -> list[User]:
    return list(User.objects.filter(memberships__employer_id=posting.employer_id, is_active=True))


def _notify_employer(posting: Posting, *, kind: str, title: str, body: str, key: str) -> None:
    notify_many(
        recipients=_members(posting),
        kind=kind,
        title=title,
        body=body,
        link=f"/postings/{posting.pk}/",
        dedupe_key=f"posting:{posting.pk}:{key}",
    )


def _close(posting: Posting, *, reason: str, actor: User | None) -> None:
    """Close a locked posting (the caller has checked that it is not closed yet)."""
    _move(posting, Status.CLOSED)
    posting.close_reason = reason
    posting.closed_at = timezone.now()
    posting.save(update_fields=["status", "close_reason", "closed_at", "updated_at"])
    audit(action="posting.closed", target=posting, actor=actor, reason=reason)
    postings_changed()
    reminder_cancel(key_prefix=f"posting:{posting.pk}:")
    _notify_employer(
        posting,
        kind="posting.closed",
        title=f"Your posting “{posting.title}” closed",
        body=f"{posting.get_close_reason_display()}.",
        key=f"closed:{posting.closed_at.isoformat()}",
    )


# --- Seats (called by the applications side when an offer is accepted or falls through) ------


@transaction.atomic
def posting_seat_taken(*, posting: Posting) -> Posting:
    """Take one seat; the last seat closes the posting as filled.

    Not idempotent by itself (it counts): the caller calls it once per accepted offer, inside the
    transaction that accepts it, so that an offer accepted twice is refused before it gets here.
    Seats can be taken on a published posting and on one that is closed or suspended after the
    offer was made (an offer may be accepted after the application deadline).
    """
    posting = _lock(posting)
    if posting.status not in {Status.PUBLISHED, Status.CLOSED, Status.SUSPENDED}:
        raise DomainError(
            f"This posting is {posting.get_status_display().lower()}: no seat can be taken.",
            code="posting_not_open",
        )
    if posting.seats_filled >= posting.openings:
        raise DomainError("Every seat of this posting is already taken.", code="no_seat_left")
    posting.seats_filled += 1
    posting.save(update_fields=["seats_filled", "updated_at"])
    audit(action="posting.seat_taken", target=posting, seats_filled=posting.seats_filled)
    postings_changed()
    if posting.seats_filled >= posting.openings and posting.status == Status.PUBLISHED:
        _close(posting, reason=Posting.CloseReason.FILLED, actor=None)
    return posting


@transaction.atomic
def posting_seat_released(*, posting: Posting) -> Posting:
    """Give a seat back (an accepted assignment was cancelled before work started).

    A posting closed because it was filled is published again when its application deadline
    is still ahead; a posting closed for any other reason stays closed.
    """
    posting = _lock(posting)
    if posting.seats_filled == 0:
        return posting
    posting.seats_filled -= 1
    posting.save(update_fields=["seats_filled", "updated_at"])
    audit(action="posting.seat_released", target=posting, seats_filled=posting.seats_filled)
    postings_changed()
    if (
        posting.status == Status.CLOSED
        and posting.close_reason == Posting.CloseReason.FILLED
        and posting.application_deadline > timezone.now()
    ):
        _move(posting, Status.PUBLISHED)
        posting.close_reason = ""
        posting.closed_at = None
        posting.save(update_fields=["status", "close_reason", "closed_at", "updated_at"])
        audit(action="posting.reopened", target=posting, reason="seat_released")
    return posting


# --- Create, update, duplicate -----------------------------------------------------------------


def _check_member(posting_or_employer, actor: User) -> None:
    employer_id = getattr(posting_or_employer, "employer_id", None) or posting_or_employer.pk
    if not Membership.objects.filter(employer_id=employer_id, user=actor).exists():
        raise NotPermitted("Only members of the organisation that owns this posting can do this.")


def _validate(values: Values) -> None:
    errors = posting_errors(values)
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(first, code="invalid_posting", fields=errors)


def skills_from_names(names: Iterable[str]) -> list[Skill]:
    """The skills with these names, created when new (names are matched case-insensitively)."""
    result: list[Skill] = []
    seen: set[str] = set()
    for raw in names:
        name = " ".join(str(raw).split()).lower()[: rules.MAX_SKILL_LENGTH]
        slug = slugify(name)[:60]
        if not name or not slug or slug in seen:
            continue
        seen.add(slug)
        skill, _ = Skill.objects.get_or_create(slug=slug, defaults={"name": name})
        result.append(skill)
    return result


def _set_children(posting: Posting, values: Values) -> None:
    if values.skills is not None:
        skills = skills_from_names(values.skills)
        posting.skills.set(skills)
        posting.skill_names = ", ".join(sorted(skill.name for skill in skills))[:1000]
        posting.save(update_fields=["skill_names"])
    if values.milestones is not None or not posting.milestones.exists():
        posting.milestones.all().delete()
        milestones = values.milestones or [
            # Without milestones the whole amount is due at the end of the time box.
            {
                "title": "Final delivery",
                "due_offset_hours": posting.duration_hours,
                "amount": posting.amount,
            }
        ]
        ordered = sorted(milestones, key=lambda m: int(m["due_offset_hours"]))
        PostingMilestone.objects.bulk_create(
            PostingMilestone(
                posting=posting,
                position=position,
                title=m["title"].strip(),
                due_offset_hours=int(m["due_offset_hours"]),
                amount=int(m.get("amount") or 0),
            )
            for position, m in enumerate(ordered)
        )
    if values.questions is not None:
        posting.questions.all().delete()
        ScreeningQuestion.objects.bulk_create(
            ScreeningQuestion(
                posting=posting,
                position=position,
                text=q["text"].strip(),
                required=bool(q.get("required", True)),
            )
            for position, q in enumerate(values.questions)
        )


def search_vectors_refresh(*, posting_ids: Iterable[int] | None = None) -> None:
    """Recompute the stored full-text vectors (PostgreSQL only; SQLite searches with LIKE).

    Weights: A the title, B the skills, C the description. One statement for any number of
    postings, so ``seed_bulk`` uses it too.
    """
    if connection.vendor != "postgresql":
        return
    sql = """
        UPDATE postings_posting AS p SET search_vector =
            setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
            || setweight(to_tsvector('english', coalesce((
                SELECT string_agg(s.name, ' ') FROM postings_skill s
                JOIN postings_posting_skills ps ON ps.skill_id = s.id
                WHERE ps.posting_id = p.id), '')), 'B')
            || setweight(to_tsvector('english', coalesce(p.description, '')), 'C')
    """
    with connection.cursor() as cursor:
        if posting_ids is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql + " WHERE p.id = ANY(%s)", [list(posting_ids)])


@transaction.atomic
def posting_create(*, employer: Employer, actor: User, values: Values) -> Posting:
    """Create a draft posting after checking every rule (see ``postings.rules``)."""
    _check_member(employer, actor)
    _validate(values)
    posting = Posting(employer=employer, created_by=actor, status=Status.DRAFT)
    for name in POSTING_FIELDS:
        setattr(posting, name, getattr(values, name))
    _normalise(posting)
    posting.flags = posting_flags(values)
    posting.save()
    _set_children(posting, values)
    search_vectors_refresh(posting_ids=[posting.pk])
    audit(action="posting.created", target=posting, actor=actor)
    return posting


def _normalise(posting: Posting) -> None:
    posting.title = posting.title.strip()
    posting.location = posting.location.strip()
    if posting.compensation == Posting.Compensation.CREDIT:
        posting.amount = 0
    else:
        posting.credit_arrangement = ""


@transaction.atomic
def posting_update(*, posting: Posting, actor: User, values: Values) -> Posting:
    """Change a draft (or a posting sent back with changes requested).

    ``values`` holds the whole posting; ``skills``, ``milestones`` and ``questions`` set to None
    are kept as they are.
    """
    _check_member(posting, actor)
    posting = _lock(posting)
    if posting.status not in Posting.EDITABLE:
        raise InvalidTransition(
            f"A posting that is {posting.get_status_display().lower()} cannot be edited; "
            "duplicate it to make a new one."
        )
    current = Values.of(posting)
    for name in ("skills", "milestones", "questions"):
        if getattr(values, name) is None:
            setattr(values, name, getattr(current, name))
    _validate(values)
    changed = [name for name in POSTING_FIELDS if getattr(posting, name) != getattr(values, name)]
    for name in POSTING_FIELDS:
        setattr(posting, name, getattr(values, name))
    _normalise(posting)
    posting.flags = posting_flags(values)
    posting.save()
    _set_children(posting, values)
    search_vectors_refresh(posting_ids=[posting.pk])
    audit(action="posting.updated", target=posting, actor=actor, fields=changed)
    return posting


@transaction.atomic
def posting_duplicate(*, posting: Posting, actor: User) -> Posting:
    """A new draft with the same content; dates in the past move forward by a week from now."""
    _check_member(posting, actor)
    source = Posting.objects.get(pk=posting.pk)
    values = Values.of(source)
    now = timezone.now()
    if values.application_deadline <= now:
        shift = now + timedelta(days=7) - values.application_deadline
        values.application_deadline += shift
        values.starts_at += shift
    copy = Posting(employer_id=source.employer_id, created_by=actor, status=Status.DRAFT)
    for name in POSTING_FIELDS:
        setattr(copy, name, getattr(values, name))
    copy.flags = posting_flags(values)
    copy.save()
    _set_children(copy, values)
    search_vectors_refresh(posting_ids=[copy.pk])
    audit(action="posting.duplicated", target=copy, actor=actor, source=source.pk)
    return copy


# --- The employer's moves ----------------------------------------------------------------------


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


# --- Moderation ----------------------------------------------------------------------------------


def _check_staff(actor: User) -> None:
    if not (actor and actor.is_staff):
        raise NotPermitted("Only moderators can do this.")


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            f"Give the employer a reason for {what}.", fields={"reason": ["A reason is required."]}
        )
    if len(reason) > 2000:
        raise DomainError(
            "The reason can have at most 2000 characters.",
            fields={"reason": ["At most 2000 characters."]},
        )
    return reason


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


# --- Reports --------------------------------------------------------------------------------


@transaction.atomic
def posting_report(*, posting: Posting, reporter: User, reason: str) -> Report:
    """A signed-in user reports a published posting. Reporting again changes nothing; enough
    open reports (``REPORTS_TO_SUSPEND``) suspend the posting until a moderator looks."""
    if not getattr(reporter, "is_authenticated", False):
        raise NotPermitted("Log in to report a posting.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "Tell us what is wrong with this posting.", fields={"reason": ["A reason is required."]}
        )
    if len(reason) > 2000:
        raise DomainError(
            "The reason can have at most 2000 characters.",
            fields={"reason": ["At most 2000 characters."]},
        )
    posting = _lock(posting)
    existing = posting.reports.filter(reporter=reporter, resolved_at__isnull=True).first()
    if existing:
        return existing
    if posting.status != Status.PUBLISHED:
        raise DomainError("Only published postings can be reported.", code="not_published")
    if Membership.objects.filter(employer_id=posting.employer_id, user=reporter).exists():
        raise DomainError("You cannot report your own organisation's posting.")
    report = Report.objects.create(posting=posting, reporter=reporter, reason=reason)
    posting.open_reports = posting.reports.filter(resolved_at__isnull=True).count()
    posting.save(update_fields=["open_reports", "updated_at"])
    audit(action="posting.reported", target=posting, actor=reporter, report=report.pk)
    if posting.open_reports >= settings.REPORTS_TO_SUSPEND:
        _suspend(
            posting,
            actor=None,
            reason=f"Suspended automatically after {posting.open_reports} reports.",
        )
    return report


@transaction.atomic
def posting_reports_dismiss(*, posting: Posting, actor: User) -> Posting:
    """A moderator looked at the open reports of a published posting and found nothing wrong."""
    _check_staff(actor)
    posting = _lock(posting)
    if posting.open_reports == 0:
        return posting
    _resolve_reports(posting, actor)
    audit(action="posting.reports_dismissed", target=posting, actor=actor)
    return posting


# --- The sweep ------------------------------------------------------------------------------


def postings_close_due(*, now=None, batch_size: int | None = None) -> int:
    """Close postings whose application deadline passed or whose seats are all taken.

    Safe to run concurrently and again after a crash: each batch locks its rows with SKIP LOCKED
    and re-checks them, and a closed posting is no longer picked. The queries run over the
    (status, application_deadline) index and a partial index on full postings, so the cost
    follows what is due, not the number of postings.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.POSTING_SWEEP_BATCH_SIZE
    open_statuses = [Status.PUBLISHED, Status.PENDING_REVIEW, Status.CHANGES_REQUESTED]
    closed = 0
    for condition, reason in (
        (
            Q(status__in=open_statuses, application_deadline__lte=now),
            Posting.CloseReason.DEADLINE,
        ),
        (Q(status=Status.PUBLISHED, seats_filled__gte=F("openings")), Posting.CloseReason.FILLED),
    ):
        while True:
            with transaction.atomic():
                due = list(
                    Posting.objects.select_for_update(skip_locked=True)
                    .filter(condition)
                    .order_by("application_deadline", "pk")[:batch_size]
                )
                if not due:
                    break
                for posting in due:
                    _close(posting, reason=reason, actor=None)
                    closed += 1
    return closed


# --- Saved searches and their daily digest ---------------------------------------------------

# The digest looks back this far before its previous run for postings it has not sent yet: one
# whose publishing transaction committed just after that run (``published_at`` is set before the
# commit), or one reinstated after a short suspension. ``SavedSearchHit`` keeps each posting to
# one digest per saved search, so looking back never repeats one.
DIGEST_LOOKBACK = timedelta(days=2)
# A digest lists this many postings by name; the rest are counted, and the link shows them all.
DIGEST_LISTED = 20
# At most this many postings are taken (and recorded) per digest; any more wait for the next.
DIGEST_MAX_POSTINGS = 1000


def _next_digest_at(user: User, *, after) -> datetime:
    """The next ``SAVED_SEARCH_DIGEST_HOUR`` o'clock in the user's time zone, after ``after``."""
    try:
        zone = ZoneInfo(user.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = after.astimezone(zone)
    hour = dt_time(settings.SAVED_SEARCH_DIGEST_HOUR)
    at = datetime.combine(local.date(), hour, tzinfo=zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), hour, tzinfo=zone)
    return at.astimezone(UTC)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(
            "Give the search a name.", code="invalid", fields={"name": ["A name is required."]}
        )
    if len(name) > 80:
        raise DomainError(
            "The name can have at most 80 characters.",
            code="invalid",
            fields={"name": ["At most 80 characters."]},
        )
    return name


def saved_search_create(*, actor: User, name: str, filters: Mapping[str, object]) -> SavedSearch:
    """A student saves a search of the public list: ``filters`` as the list takes them (name ->
    value or list of values; the page parameters ``cursor`` and ``page_size`` are ignored),
    checked by the list's own ``PostingFilter``. At most ``SAVED_SEARCHES_MAX`` per student, each
    search once. The first digest goes out at the next digest hour."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_student:
        raise NotPermitted("Only students can save searches.")
    name = _clean_name(name)
    try:
        query = canonical_query(filters)
    except InvalidFilters as exc:
        raise DomainError(
            f"This search cannot be saved: {'; '.join(exc.messages)}",
            code="invalid_filters",
            fields={"filters": exc.messages},
        ) from None
    with transaction.atomic():
        # The student's row is the lock that keeps two saves at once under the limit.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        mine = SavedSearch.objects.filter(user=actor)
        same = mine.filter(query=query).first()
        if same is not None:
            raise DomainError(
                f"You saved this search already, as “{same.name}”.",
                code="duplicate",
                fields={"filters": ["This search is saved already."]},
            )
        if mine.count() >= settings.SAVED_SEARCHES_MAX:
            raise DomainError(
                f"You can keep at most {settings.SAVED_SEARCHES_MAX} saved searches; "
                "delete one you no longer need first.",
                code="limit_reached",
            )
        now = timezone.now()
        return SavedSearch.objects.create(
            user=actor,
            name=name,
            query=query,
            next_digest_at=_next_digest_at(actor, after=now),
        )


@transaction.atomic
def saved_search_delete(*, saved_search: SavedSearch, actor: User) -> None:
    """Delete a saved search (its digests stop; the notifications already sent stay)."""
    if saved_search.user_id != actor.pk:
        raise NotPermitted("This is not your saved search.")
    SavedSearch.objects.filter(pk=saved_search.pk).delete()


def _digest_body(postings: list[tuple[int, str]], *, more: int) -> str:
    lines = [
        f"- {title}\n  {settings.SITE_URL}{reverse('postings:detail', args=[pk])}"
        for pk, title in postings
    ]
    if more:
        lines.append(f"…and {more} more: open the list to see them all.")
    return "\n".join(lines)


def _saved_search_digest(saved_search: SavedSearch, *, now) -> bool:
    """Send one saved search's digest, due at ``saved_search.next_digest_at`` (the row is
    locked); True if a notification went out. Nothing is sent when nothing new matches."""
    due = saved_search.next_digest_at
    since = saved_search.created_at
    if saved_search.last_digest_at is not None:
        since = max(since, saved_search.last_digest_at - DIGEST_LOOKBACK)
    user = saved_search.user
    found: list[tuple[int, str]] = []
    if user.is_active:
        try:
            matching = postings_matching(saved_search.query, postings_public())
        except InvalidFilters as exc:
            logger.warning("Saved search %s no longer valid: %s", saved_search.pk, exc)
        else:
            sent_before = SavedSearchHit.objects.filter(
                saved_search=saved_search, posting=OuterRef("pk")
            )
            found = list(
                matching.filter(published_at__gte=since, application_deadline__gt=now)
                .exclude(Exists(sent_before))
                .order_by("-published_at", "-pk")
                .values_list("pk", "title")[:DIGEST_MAX_POSTINGS]
            )
    if found:
        SavedSearchHit.objects.bulk_create(
            SavedSearchHit(saved_search=saved_search, posting_id=pk, sent_at=now) for pk, _ in found
        )
        count = len(found)
        notify(
            recipient=user,
            kind="digest.saved_search",
            title=(
                f"{count} new posting{'' if count == 1 else 's'} for your search "
                f"“{saved_search.name}”"
            )[:200],
            body=_digest_body(found[:DIGEST_LISTED], more=max(count - DIGEST_LISTED, 0)),
            link=saved_search.list_link,
            # One digest per saved search per due time, whatever runs it.
            dedupe_key=f"saved-search:{saved_search.pk}:digest:{due.astimezone(UTC):%Y%m%dT%H%M}",
        )
    saved_search.last_digest_at = now
    saved_search.next_digest_at = _next_digest_at(user, after=now)
    saved_search.save(update_fields=["last_digest_at", "next_digest_at"])
    return bool(found)


def saved_searches_send_digests(*, now=None, batch_size: int | None = None) -> int:
    """The beat sweep: send the digest of every saved search whose ``next_digest_at`` is due;
    returns how many digests went out.

    Safe to run concurrently and again after a crash: each batch locks its rows with SKIP
    LOCKED, and a digest moves ``next_digest_at`` on in the same transaction as its notification
    and its ``SavedSearchHit`` rows, so a row is never picked twice for the same due time. The
    query runs over the ``next_digest_at`` index: its cost follows what is due.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.POSTING_SWEEP_BATCH_SIZE
    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                SavedSearch.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user")
                .filter(next_digest_at__lte=now)
                .order_by("next_digest_at", "pk")[:batch_size]
            )
            if not due:
                break
            for saved_search in due:
                try:
                    with transaction.atomic():
                        sent += _saved_search_digest(saved_search, now=now)
                except Exception:
                    # One broken search must not hold up the others' digests, nor be picked
                    # again at once: it waits for its next digest time.
                    logger.exception("Digest of saved search %s failed", saved_search.pk)
                    SavedSearch.objects.filter(pk=saved_search.pk).update(
                        next_digest_at=_next_digest_at(saved_search.user, after=now)
                    )
    return sent
