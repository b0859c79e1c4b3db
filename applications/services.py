"""Every write to applications, assignments, milestones, submissions, ratings and messages.

Status changes follow the ``TRANSITIONS`` maps in ``models.py``: each service locks the row,
re-reads it, returns early when the move already happened (so running it twice is harmless),
checks the map, saves with ``update_fields`` and writes the audit record, the notifications and
the reminders in the same transaction.

Lock order, to keep concurrent moves free of deadlocks: an application before its posting (the
posting services lock it); an assignment before its posting; a milestone before its assignment
(completion). Accepting an offer never locks *other* applications: closing the rest of a filled
posting runs after commit, in its own task, skipping rows another transaction holds.

Contract with the payments side (which this app never imports): ``assignment_mark_funded``,
``milestone_mark_paid``, the signals in ``signals.py`` and the states swept by payments
(approved milestones with an amount, cancelled assignments, resolved disputes).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Employer, User
from accounts.selectors import employer_for_user
from accounts.services import employer_stats_set
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, NotPermitted, status_move
from notifications.services import notify, notify_many, reminder_cancel, reminder_schedule
from postings.models import Posting
from postings.services import posting_seat_released, posting_seat_taken

from . import signals
from .models import (
    Application,
    Assignment,
    Dispute,
    Message,
    Milestone,
    Rating,
    ReInvite,
    Submission,
    SubmissionFile,
)
from .uploads import CheckedFile, check_file, check_files

AppStatus = Application.Status
AsgStatus = Assignment.Status
MsStatus = Milestone.Status

MAX_LINKS = 10
MAX_ANSWER = 2000
MAX_NOTE = 5000


# --- Helpers ---------------------------------------------------------------------------------


def _now() -> datetime:
    return timezone.now()


def _members(employer_id: int) -> list[User]:
    return list(User.objects.filter(memberships__employer_id=employer_id, is_active=True))


def is_member(user, employer_id: int) -> bool:
    employer = employer_for_user(user)
    return employer is not None and employer.pk == employer_id


def _require_member(user, employer_id: int, what: str) -> None:
    if not is_member(user, employer_id):
        raise NotPermitted(f"Only the employer's team can {what}.")


def _require_student(user, student_id: int, what: str) -> None:
    if getattr(user, "pk", None) != student_id:
        raise NotPermitted(f"Only the student can {what}.")


def _lock_application(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("posting", "student")
        .get(pk=application.pk)
    )


def _lock_assignment(assignment: Assignment) -> Assignment:
    return (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("posting", "student")
        .get(pk=assignment.pk)
    )


def _lock_milestone(milestone: Milestone) -> Milestone:
    return (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("assignment__posting", "assignment__student")
        .get(pk=milestone.pk)
    )


def application_link(application: Application) -> str:
    return reverse("applications:detail", args=[application.pk])


def assignment_link(assignment: Assignment) -> str:
    return reverse("applications:assignment", args=[assignment.pk])


def _clean_links(links, *, field: str = "links", limit: int = MAX_LINKS) -> list[str]:
    if isinstance(links, str):
        links = links.split()
    cleaned: list[str] = []
    validate = URLValidator(schemes=["http", "https"])
    for raw in links or []:
        link = str(raw).strip()
        if not link:
            continue
        if len(link) > 500:
            raise DomainError(
                "A link is longer than 500 characters.", fields={field: ["Too long."]}
            )
        try:
            validate(link)
        except ValidationError:
            message = f"“{link[:80]}” is not a web address (https://…)."
            raise DomainError(message, fields={field: [message]}) from None
        if link not in cleaned:
            cleaned.append(link)
    if len(cleaned) > limit:
        message = f"At most {limit} links."
        raise DomainError(message, fields={field: [message]})
    return cleaned


def _clean_text(value: str, *, field: str, label: str, max_length: int, min_length: int = 0) -> str:
    text = (value or "").strip()
    if len(text) < min_length:
        message = (
            f"{label} is required."
            if min_length <= 1
            else f"{label} needs at least {min_length} characters (it has {len(text)})."
        )
        raise DomainError(message, fields={field: [message]})
    if len(text) > max_length:
        message = f"{label} can have at most {max_length} characters (it has {len(text)})."
        raise DomainError(message, fields={field: [message]})
    return text


def _save_file(saved: list[str], field_file, checked: CheckedFile) -> None:
    """Save one checked upload through the storage, remembering the name for a clean-up."""
    field_file.save(checked.name, checked.upload, save=False)
    saved.append(field_file.name)


def _delete_stored(storage, names: list[str]) -> None:
    for name in names:
        # The clean-up of a failed upload must not hide the original error.
        with contextlib.suppress(OSError):
            storage.delete(name)


# --- Employer reputation ---------------------------------------------------------------------


def employer_stats_refresh(*, employer: Employer | int) -> None:
    """Recompute the employer's response rate and average rating and store them on Employer.

    Response rate: of the applications that were due an answer (the employer answered them,
    or their posting closed), the share the employer answered (shortlist, offer or reject)
    before the posting closed. Applications the student withdrew before any answer do not
    count. Average rating: the students' published ratings.
    """
    employer_id = employer if isinstance(employer, int) else employer.pk
    closed = [Posting.Status.CLOSED, Posting.Status.REMOVED]
    due = (
        Application.objects.filter(posting__employer_id=employer_id)
        .exclude(status=AppStatus.WITHDRAWN, employer_responded_at__isnull=True)
        .filter(Q(employer_responded_at__isnull=False) | Q(posting__status__in=closed))
    )
    figures = due.aggregate(
        total=Count("pk"),
        answered=Count(
            "pk",
            filter=Q(employer_responded_at__isnull=False)
            & (
                Q(posting__closed_at__isnull=True)
                | Q(employer_responded_at__lte=F("posting__closed_at"))
            ),
        ),
    )
    rate = round(100 * figures["answered"] / figures["total"]) if figures["total"] else None
    ratings = Rating.objects.filter(
        employer_id=employer_id, direction=Rating.Direction.BY_STUDENT, published_at__isnull=False
    ).aggregate(avg=Avg("score"), count=Count("pk"))
    average = (
        Decimal(str(ratings["avg"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if ratings["avg"] is not None
        else None
    )
    employer_obj = Employer(pk=employer_id)
    employer_stats_set(
        employer=employer_obj,
        response_rate=rate,
        rating_average=average,
        rating_count=ratings["count"],
    )


def _mark_responded(application: Application, fields: list[str]) -> None:
    if application.employer_responded_at is None:
        application.employer_responded_at = _now()
        fields.append("employer_responded_at")


# --- Applying --------------------------------------------------------------------------------


def application_submit(
    *,
    posting: Posting,
    student: User,
    cover_note: str,
    answers: dict | None = None,
    portfolio_links: list[str] | str | None = None,
    cv: UploadedFile | None = None,
) -> Application:
    """A student applies to a published posting (one open application per posting)."""
    if not getattr(student, "is_student", False):
        raise NotPermitted("Only students can apply.")
    posting = Posting.objects.get(pk=posting.pk)
    now = _now()
    if posting.status != Posting.Status.PUBLISHED:
        raise DomainError("This posting is not open for applications.", code="posting_not_open")
    if posting.application_deadline <= now:
        raise DomainError(
            "The application deadline for this posting has passed.", code="deadline_passed"
        )
    if posting.seats_left <= 0:
        raise DomainError(
            "Every seat of this posting is taken: it no longer accepts applications.",
            code="posting_full",
        )
    cover_note = _clean_text(
        cover_note,
        field="cover_note",
        label="The cover note",
        min_length=settings.APPLICATION_COVER_NOTE_MIN,
        max_length=settings.APPLICATION_COVER_NOTE_MAX,
    )
    answers = answers or {}
    stored: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for question in posting.questions.all():
        answer = str(answers.get(str(question.pk), answers.get(question.pk, "")) or "").strip()
        if question.required and not answer:
            errors[f"answer_{question.pk}"] = ["Please answer this question."]
        elif len(answer) > MAX_ANSWER:
            errors[f"answer_{question.pk}"] = [f"At most {MAX_ANSWER} characters."]
        stored[str(question.pk)] = answer
    if errors:
        raise DomainError(
            "Please answer every required screening question.", code="answers", fields=errors
        )
    links = _clean_links(portfolio_links, field="portfolio_links", limit=5)
    checked_cv = (
        check_file(
            cv, allowed=settings.CV_ALLOWED_TYPES, max_bytes=settings.CV_MAX_BYTES, field="cv"
        )
        if cv
        else None
    )
    if Application.objects.filter(
        posting=posting, student=student, status__in=Application.OPEN
    ).exists():
        raise DomainError("You have already applied to this posting.", code="already_applied")

    saved: list[str] = []
    storage = Application._meta.get_field("cv").storage
    try:
        with transaction.atomic():
            application = Application(
                posting=posting,
                student=student,
                cover_note=cover_note,
                answers=stored,
                portfolio_links=links,
            )
            if checked_cv:
                _save_file(saved, application.cv, checked_cv)
                application.cv_name = checked_cv.name
            try:
                with transaction.atomic():
                    application.save()
            except IntegrityError:
                # Two tabs submitting at once: the database's one-open-application rule wins.
                raise DomainError(
                    "You have already applied to this posting.", code="already_applied"
                ) from None
            audit(action="application.submitted", target=application, actor=student)
            notify_many(
                recipients=_members(posting.employer_id),
                kind="application.received",
                title=f"New application from {student.display_name} for “{posting.title}”",
                body=cover_note[:300],
                link=application_link(application),
                dedupe_key=f"application:{application.pk}:received",
            )
    except BaseException:
        _delete_stored(storage, saved)
        raise
    return application


@transaction.atomic
def application_withdraw(*, application: Application, actor: User) -> Application:
    application = _lock_application(application)
    _require_student(actor, application.student_id, "withdraw this application")
    if application.status == AppStatus.WITHDRAWN:
        return application
    status_move(application, AppStatus.WITHDRAWN, "application")
    application.closed_at = _now()
    application.save(update_fields=["status", "closed_at", "updated_at"])
    audit(action="application.withdrawn", target=application, actor=actor)
    reminder_cancel(key_prefix=f"application:{application.pk}:")
    employer_stats_refresh(employer=application.posting.employer_id)
    return application


# --- Selecting -------------------------------------------------------------------------------


@transaction.atomic
def application_shortlist(*, application: Application, actor: User) -> Application:
    application = _lock_application(application)
    _require_member(actor, application.posting.employer_id, "shortlist applications")
    if application.status == AppStatus.SHORTLISTED:
        return application
    status_move(application, AppStatus.SHORTLISTED, "application")
    fields = ["status", "updated_at"]
    _mark_responded(application, fields)
    application.save(update_fields=fields)
    audit(action="application.shortlisted", target=application, actor=actor)
    notify(
        recipient=application.student,
        kind="application.shortlisted",
        title=f"You were shortlisted for “{application.posting.title}”",
        link=application_link(application),
        dedupe_key=f"application:{application.pk}:shortlisted",
    )
    employer_stats_refresh(employer=application.posting.employer_id)
    return application


@transaction.atomic
def application_reject(*, application: Application, actor: User, message: str = "") -> Application:
    application = _lock_application(application)
    _require_member(actor, application.posting.employer_id, "reject applications")
    if application.status == AppStatus.REJECTED:
        return application
    message = _clean_text(message, field="message", label="The message", max_length=2000)
    status_move(application, AppStatus.REJECTED, "application")
    application.rejection_message = message
    application.closed_at = _now()
    fields = ["status", "rejection_message", "closed_at", "updated_at"]
    _mark_responded(application, fields)
    application.save(update_fields=fields)
    audit(action="application.rejected", target=application, actor=actor)
    reminder_cancel(key_prefix=f"application:{application.pk}:")
    notify(
        recipient=application.student,
        kind="application.rejected",
        title=f"Your application for “{application.posting.title}” was not selected",
        body=message,
        link=application_link(application),
        dedupe_key=f"application:{application.pk}:rejected",
    )
    employer_stats_refresh(employer=application.posting.employer_id)
    return application


@transaction.atomic
def application_offer(
    *, application: Application, actor: User, expires_at: datetime | None = None
) -> Application:
    """Offer the work; the student must answer by ``expires_at`` (capped before the start)."""
    application = _lock_application(application)
    posting = application.posting
    _require_member(actor, posting.employer_id, "make offers")
    if application.status == AppStatus.OFFERED:
        return application
    status_move(application, AppStatus.OFFERED, "application")
    # After the application deadline the employer may still offer; not after a withdrawal.
    closed_at_deadline = (
        posting.status == Posting.Status.CLOSED
        and posting.close_reason == Posting.CloseReason.DEADLINE
    )
    if posting.status != Posting.Status.PUBLISHED and not closed_at_deadline:
        raise DomainError(
            f"This posting is {posting.get_status_display().lower()}: no offer can be made.",
            code="posting_not_open",
        )
    if posting.seats_left <= 0:
        raise DomainError("Every seat of this posting is already taken.", code="no_seat_left")
    now = _now()
    if posting.starts_at <= now + timedelta(hours=1):
        raise DomainError(
            "The work starts within the hour: it is too late to make an offer.",
            code="posting_started",
        )
    latest = min(now + settings.OFFER_RESPONSE_WINDOW, posting.starts_at)
    if expires_at is None:
        expires_at = latest
    elif expires_at < now + timedelta(hours=1) or expires_at > posting.starts_at:
        message = (
            "The answer deadline must be at least an hour from now and before the work starts "
            f"({timezone.localtime(posting.starts_at):%Y-%m-%d %H:%M})."
        )
        raise DomainError(message, fields={"expires_at": [message]})
    application.offer_expires_at = expires_at
    application.offered_at = now
    fields = ["status", "offer_expires_at", "offered_at", "updated_at"]
    _mark_responded(application, fields)
    application.save(update_fields=fields)
    audit(
        action="application.offered",
        target=application,
        actor=actor,
        expires_at=expires_at.isoformat(),
    )
    link = application_link(application)
    notify(
        recipient=application.student,
        kind="offer.made",
        title=f"You received an offer for “{posting.title}”",
        body=f"Please accept or decline by {timezone.localtime(expires_at):%Y-%m-%d %H:%M %Z}.",
        link=link,
        dedupe_key=f"application:{application.pk}:offered",
    )
    reminder_schedule(
        key=f"application:{application.pk}:offer_due",
        recipient=application.student,
        kind="reminder.offer_due",
        title=f"Your offer for “{posting.title}” expires soon: accept or decline it",
        send_at=expires_at - settings.REMINDER_OFFER_BEFORE,
        expires_at=expires_at,
        link=link,
    )
    employer_stats_refresh(employer=posting.employer_id)
    return application


@transaction.atomic
def application_decline(*, application: Application, actor: User) -> Application:
    application = _lock_application(application)
    _require_student(actor, application.student_id, "decline this offer")
    if application.status == AppStatus.DECLINED:
        return application
    status_move(application, AppStatus.DECLINED, "application")
    application.closed_at = _now()
    application.save(update_fields=["status", "closed_at", "updated_at"])
    audit(action="application.declined", target=application, actor=actor)
    reminder_cancel(key_prefix=f"application:{application.pk}:")
    notify_many(
        recipients=_members(application.posting.employer_id),
        kind="offer.declined",
        title=(
            f"{application.student.display_name} declined your offer for "
            f"“{application.posting.title}”"
        ),
        link=application_link(application),
        dedupe_key=f"application:{application.pk}:declined",
    )
    return application


def _expire_offer(application: Application, now: datetime) -> bool:
    """Expire a locked, offered application whose deadline has passed."""
    if application.status != AppStatus.OFFERED or application.offer_expires_at > now:
        return False
    status_move(application, AppStatus.EXPIRED, "application")
    application.closed_at = now
    application.save(update_fields=["status", "closed_at", "updated_at"])
    audit(action="application.expired", target=application)
    reminder_cancel(key_prefix=f"application:{application.pk}:")
    title = f"The offer for “{application.posting.title}” expired unanswered"
    link = application_link(application)
    notify(
        recipient=application.student,
        kind="offer.expired",
        title=title,
        link=link,
        dedupe_key=f"application:{application.pk}:expired",
    )
    notify_many(
        recipients=_members(application.posting.employer_id),
        kind="offer.expired",
        title=f"{application.student.display_name}: {title[0].lower()}{title[1:]}",
        link=link,
        dedupe_key=f"application:{application.pk}:expired",
    )
    return True


@transaction.atomic
def application_expire_offer(*, application: Application, now: datetime | None = None) -> bool:
    """Expire one offer if its deadline passed (True when this call expired it)."""
    return _expire_offer(_lock_application(application), now or _now())


def applications_expire_offers_due(*, now: datetime | None = None) -> int:
    """The beat sweep: expire every offer whose answer deadline has passed."""
    now = now or _now()
    expired = 0
    while True:
        with transaction.atomic():
            due = list(
                Application.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("posting", "student")
                .filter(status=AppStatus.OFFERED, offer_expires_at__lte=now)
                .order_by("offer_expires_at")[: settings.APPLICATIONS_SWEEP_BATCH_SIZE]
            )
            if not due:
                return expired
            done = sum(_expire_offer(application, now) for application in due)
            if not done:  # nothing could move: never spin on the same rows
                return expired
            expired += done


@transaction.atomic
def application_accept(*, application: Application, actor: User) -> Assignment:
    """The student accepts the offer: a seat is taken and the assignment starts.

    The posting row is locked by ``posting_seat_taken`` inside this transaction, so two
    students accepting the last seat at the same moment are served one after the other and
    the second is refused. A paid assignment waits for funding; a credit one is active at once.
    """
    application = _lock_application(application)
    _require_student(actor, application.student_id, "accept this offer")
    if application.status == AppStatus.ACCEPTED:
        return application.assignment
    status_move(application, AppStatus.ACCEPTED, "application")
    now = _now()
    if application.offer_expires_at and application.offer_expires_at <= now:
        raise DomainError("This offer has expired.", code="offer_expired")
    posting = posting_seat_taken(posting=application.posting)
    application.closed_at = now
    application.save(update_fields=["status", "closed_at", "updated_at"])

    starts_at = max(posting.starts_at, now)
    paid = posting.is_paid and posting.amount > 0
    assignment = Assignment.objects.create(
        application=application,
        posting=posting,
        student=application.student,
        status=AsgStatus.AWAITING_FUNDING if paid else AsgStatus.ACTIVE,
        amount=posting.amount if paid else 0,
        currency=posting.currency,
        allowed_revisions=posting.allowed_revisions,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=posting.duration_hours),
        funding_due_at=now + settings.FUNDING_WINDOW if paid else None,
    )
    templates = list(posting.milestones.all())
    if templates:
        Milestone.objects.bulk_create(
            Milestone(
                assignment=assignment,
                position=template.position,
                title=template.title,
                amount=template.amount if paid else 0,
                due_at=starts_at + timedelta(hours=template.due_offset_hours),
            )
            for template in templates
        )
    else:
        Milestone.objects.create(
            assignment=assignment,
            title="Final delivery",
            amount=assignment.amount,
            due_at=assignment.ends_at,
        )
    audit(action="application.accepted", target=application, actor=actor)
    audit(
        action="assignment.created",
        target=assignment,
        actor=actor,
        amount=assignment.amount,
        currency=assignment.currency,
        status=assignment.status,
    )
    reminder_cancel(key_prefix=f"application:{application.pk}:")
    members = _members(posting.employer_id)
    notify_many(
        recipients=members,
        kind="offer.accepted",
        title=f"{application.student.display_name} accepted your offer for “{posting.title}”",
        body=(
            "Fund the assignment so that the work can start."
            if paid
            else "The assignment has started."
        ),
        link=assignment_link(assignment),
        dedupe_key=f"application:{application.pk}:accepted",
    )
    if paid:
        for member in members:
            reminder_schedule(
                key=f"assignment:{assignment.pk}:funding:u{member.pk}",
                recipient=member,
                kind="reminder.funding_pending",
                title=f"Fund the assignment for “{posting.title}” so that the work can start",
                send_at=now + settings.REMINDER_FUNDING_AFTER,
                expires_at=assignment.funding_due_at,
                link=assignment_link(assignment),
            )
    else:
        _schedule_work_reminders(assignment, members)
    if posting.seats_left <= 0:
        from .tasks import close_for_posting

        close_for_posting.delay_on_commit(posting.pk)
    return assignment


def applications_close_for_posting(*, posting_id: int) -> int:
    """Close, with a notice, the open applications a closed or filled posting leaves behind.

    Filled, withdrawn or removed: every open application closes. Closed at the deadline:
    only the unanswered ones (submitted); shortlisted and offered ones may still turn into an
    assignment. Each application is its own short transaction, locked with SKIP LOCKED, so a
    student accepting or withdrawing at the same moment is never blocked.
    """
    posting = Posting.objects.filter(pk=posting_id).first()
    if posting is None:
        return 0
    if posting.seats_left <= 0 or posting.status == Posting.Status.REMOVED:
        statuses = Application.OPEN
        reason = (
            Application.CloseReason.FILLED
            if posting.seats_left <= 0
            else Application.CloseReason.POSTING_CLOSED
        )
    elif posting.status == Posting.Status.CLOSED:
        reason = Application.CloseReason.POSTING_CLOSED
        statuses = (
            {AppStatus.SUBMITTED}
            if posting.close_reason == Posting.CloseReason.DEADLINE
            else Application.OPEN
        )
    else:
        return 0
    closed = 0
    for pk in list(
        Application.objects.filter(posting=posting, status__in=statuses).values_list(
            "pk", flat=True
        )
    ):
        with transaction.atomic():
            application = (
                Application.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("posting", "student")
                .filter(pk=pk, status__in=statuses)
                .first()
            )
            if application is None:
                continue
            status_move(application, AppStatus.REJECTED, "application")
            application.closed_at = _now()
            application.closed_reason = reason
            application.save(update_fields=["status", "closed_at", "closed_reason", "updated_at"])
            audit(action="application.closed", target=application, reason=reason)
            reminder_cancel(key_prefix=f"application:{application.pk}:")
            notify(
                recipient=application.student,
                kind="application.closed",
                title=f"“{posting.title}” is no longer open: your application was closed",
                body=(
                    "Every seat of this posting was filled."
                    if reason == Application.CloseReason.FILLED
                    else "The posting closed before your application was answered."
                ),
                link=application_link(application),
                dedupe_key=f"application:{application.pk}:closed",
            )
            closed += 1
    employer_stats_refresh(employer=posting.employer_id)
    return closed


def applications_close_for_closed_postings() -> int:
    """The beat sweep: find closed postings that still have applications to close."""
    open_ = list(Application.OPEN)
    posting_ids = (
        Application.objects.filter(
            Q(posting__status=Posting.Status.REMOVED, status__in=open_)
            | Q(
                posting__status=Posting.Status.CLOSED,
                posting__close_reason=Posting.CloseReason.DEADLINE,
                status=AppStatus.SUBMITTED,
            )
            | (
                Q(posting__status=Posting.Status.CLOSED, status__in=open_)
                & ~Q(posting__close_reason=Posting.CloseReason.DEADLINE)
            )
            | Q(posting__seats_filled__gte=F("posting__openings"), status__in=open_)
        )
        .values_list("posting_id", flat=True)
        .distinct()[: settings.APPLICATIONS_SWEEP_BATCH_SIZE]
    )
    return sum(applications_close_for_posting(posting_id=pk) for pk in posting_ids)


# --- Assignments -----------------------------------------------------------------------------


def _schedule_work_reminders(assignment: Assignment, members: list[User] | None = None) -> None:
    """Milestone due (student, before the due time) and overdue (both) reminders."""
    members = members if members is not None else _members(assignment.posting.employer_id)
    link = assignment_link(assignment)
    for milestone in assignment.milestones.all():
        for before in settings.REMINDER_MILESTONE_DUE_BEFORE:
            hours = int(before.total_seconds() // 3600)
            reminder_schedule(
                key=f"milestone:{milestone.pk}:due:{hours}h",
                recipient=assignment.student,
                kind="reminder.milestone_due",
                title=f"“{milestone.title}” is due in {hours} hours",
                send_at=milestone.due_at - before,
                expires_at=milestone.due_at,
                link=link,
            )
        for recipient in [assignment.student, *members]:
            reminder_schedule(
                key=f"milestone:{milestone.pk}:overdue:u{recipient.pk}",
                recipient=recipient,
                kind="reminder.milestone_overdue",
                title=f"“{milestone.title}” of “{assignment.posting.title}” is overdue",
                send_at=milestone.due_at,
                link=link,
            )


def _cancel_assignment_reminders(assignment: Assignment) -> None:
    reminder_cancel(key_prefix=f"assignment:{assignment.pk}:")
    for pk in assignment.milestones.values_list("pk", flat=True):
        reminder_cancel(key_prefix=f"milestone:{pk}:")


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
    if assignment.status != AsgStatus.AWAITING_FUNDING or assignment.funding_due_at > now:
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
                .filter(status=AsgStatus.AWAITING_FUNDING, funding_due_at__lte=now)
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


# --- Deliverables ----------------------------------------------------------------------------


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
    files = list(files or [])
    assignment = milestone.assignment
    _require_student(actor, assignment.student_id, "submit work")
    note = _clean_text(note, field="note", label="The note", max_length=MAX_NOTE)
    links = _clean_links(links)
    checked = check_files(
        files,
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
            status_move(milestone, MsStatus.SUBMITTED, "milestone")
            now = _now()
            version = milestone.submissions.count() + 1
            submission = Submission.objects.create(
                milestone=milestone, version=version, note=note, links=links, submitted_by=actor
            )
            for item in checked:
                record = SubmissionFile(
                    submission=submission,
                    original_name=item.name,
                    size=item.size,
                    kind=item.kind,
                    content_type=item.content_type,
                )
                _save_file(saved, record.file, item)
                record.save()
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
            link = assignment_link(assignment)
            members = _members(assignment.posting.employer_id)
            notify_many(
                recipients=members,
                kind="submission.received",
                title=(
                    f"{actor.display_name} submitted “{milestone.title}” (version {version}) "
                    "for review"
                ),
                body=(
                    "Review it by "
                    f"{timezone.localtime(milestone.review_due_at):%Y-%m-%d %H:%M %Z}; "
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
                        send_at=milestone.review_due_at - before,
                        expires_at=milestone.review_due_at,
                        link=link,
                    )
    except BaseException:
        _delete_stored(storage, saved)
        raise
    return submission


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
                .filter(
                    status=MsStatus.SUBMITTED,
                    review_due_at__lte=now,
                    assignment__status=AsgStatus.ACTIVE,
                )
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


# --- Disputes --------------------------------------------------------------------------------


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


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    actor: User,
    resolution: str,
    student_amount: int | None = None,
    note: str = "",
) -> Dispute:
    """Staff decide: release (all to the student), refund (nothing) or split (a part).

    The decision is recorded here and the milestone becomes resolved; payments moves the money
    (``Dispute.student_amount`` to the student, the rest back to the employer).
    """
    if not getattr(actor, "is_staff", False):
        raise NotPermitted("Only staff can resolve disputes.")
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.resolved_at is not None:
        return dispute
    milestone = _lock_milestone(dispute.milestone)
    amount = milestone.amount
    if resolution == Dispute.Resolution.RELEASE:
        student_amount = amount
    elif resolution == Dispute.Resolution.REFUND:
        student_amount = 0
    elif resolution == Dispute.Resolution.SPLIT:
        if amount == 0:
            message = "There is no money on this milestone to split: release or refund."
            raise DomainError(message, fields={"resolution": [message]})
        if student_amount is None or not 0 < int(student_amount) < amount:
            message = f"For a split, the student's part must be between 1 and {amount - 1}."
            raise DomainError(message, fields={"student_amount": [message]})
        student_amount = int(student_amount)
    else:
        raise DomainError(
            "Choose release, refund or split.", fields={"resolution": ["Choose one."]}
        )
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
    signals.send_on_commit(signals.dispute_resolved, Dispute, dispute_id=dispute.pk)
    _complete_if_done(assignment.pk)
    return dispute


# --- Ratings ---------------------------------------------------------------------------------


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
    if assignment.status != AsgStatus.COMPLETED:
        raise DomainError("Ratings open when the assignment is completed.", code="not_completed")
    now = _now()
    if assignment.rating_due_at and assignment.rating_due_at <= now:
        raise DomainError("The rating window for this assignment has closed.", code="window_closed")
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise DomainError("Choose a score from 1 to 5.", fields={"score": ["From 1 to 5."]})
    comment = _clean_text(comment, field="comment", label="The comment", max_length=2000)
    rating = Rating.objects.create(
        assignment=assignment,
        direction=direction,
        rater=actor,
        student_id=assignment.student_id,
        employer_id=employer_id,
        score=score,
        comment=comment,
    )
    audit(action="rating.created", target=rating, actor=actor, score=score)
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
    for ratee in ratees:
        notify(
            recipient=ratee,
            kind="rating.received",
            title=f"You received a rating for “{assignment.posting.title}”",
            body=(
                "Both sides have rated: see it on the assignment."
                if other
                else "It is shown once you have rated too, or when the rating window closes."
            ),
            link=assignment_link(assignment),
            dedupe_key=f"rating:{rating.pk}:received:u{ratee.pk}",
        )
    if other is not None:
        employer_stats_refresh(employer=employer_id)
    return rating


def ratings_publish_due(*, now: datetime | None = None) -> int:
    """The beat sweep: publish single ratings whose window has closed."""
    now = now or _now()
    published = 0
    while True:
        with transaction.atomic():
            due = list(
                Rating.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                    published_at__isnull=True, assignment__rating_due_at__lte=now
                )[: settings.APPLICATIONS_SWEEP_BATCH_SIZE]
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


# --- Messages --------------------------------------------------------------------------------


@transaction.atomic
def message_send(*, application: Application, actor: User, body: str) -> Message:
    application = Application.objects.select_related("posting", "student").get(pk=application.pk)
    student_side = actor.pk == application.student_id
    if not student_side:
        _require_member(actor, application.posting.employer_id, "write in this thread")
    if application.status not in Application.THREAD_OPEN:
        raise DomainError(
            "This conversation is closed: the application is no longer open.",
            code="thread_closed",
        )
    body = _clean_text(body, field="body", label="The message", min_length=1, max_length=MAX_NOTE)
    message = Message.objects.create(application=application, sender=actor, body=body)
    recipients = (
        _members(application.posting.employer_id) if student_side else [application.student]
    )
    for recipient in recipients:
        notify(
            recipient=recipient,
            kind="message.received",
            title=f"New message from {actor.display_name} about “{application.posting.title}”",
            body=body[:300],
            link=application_link(application) + "#thread",
            dedupe_key=f"message:{message.pk}:u{recipient.pk}",
        )
    return message


# --- Re-invite -------------------------------------------------------------------------------


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
