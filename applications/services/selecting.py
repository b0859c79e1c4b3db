"""The employer shortlists, rejects or offers; the student declines or accepts; offers expire."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import student_profile_for
from marketplace.core import payout_countries
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, status_move
from notifications.services import notify, notify_many, reminder_cancel, reminder_schedule
from postings.models import Posting
from postings.services import posting_seat_taken

from ..models import (
    Application,
    Assignment,
    Milestone,
)
from ._helpers import (
    AppStatus,
    AsgStatus,
    _clean_text,
    _close_application,
    _lock_application,
    _members,
    _now,
    _require_member,
    _require_student,
    _tell_team,
    application_link,
    assignment_link,
)
from .reminders import _schedule_work_reminders
from .reputation import employer_stats_refresh


def _mark_responded(application: Application, fields: list[str]) -> None:
    if application.employer_responded_at is None:
        application.employer_responded_at = _now()
        fields.append("employer_responded_at")


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
    application.rejection_message = message
    fields = ["rejection_message"]
    _mark_responded(application, fields)
    _close_application(
        application, AppStatus.REJECTED, action="application.rejected", actor=actor, fields=fields
    )
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
    now = _now()
    expires_at = _offer_expiry(posting, expires_at, now)
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
    _tell_offered(application, expires_at)
    employer_stats_refresh(employer=posting.employer_id)
    return application


def _offer_expiry(posting: Posting, expires_at: datetime | None, now: datetime) -> datetime:
    """When the student must answer an offer made now: ``expires_at`` if the employer chose a
    good one, else the response window (never after the work starts). Refuses an offer the
    posting can no longer take."""
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
    if posting.starts_at <= now + timedelta(hours=1):
        raise DomainError(
            "The work starts within the hour: it is too late to make an offer.",
            code="posting_started",
        )
    if expires_at is None:
        return min(now + settings.OFFER_RESPONSE_WINDOW, posting.starts_at)
    if expires_at < now + timedelta(hours=1) or expires_at > posting.starts_at:
        message = (
            "The answer deadline must be at least an hour from now and before the work starts "
            f"({timezone.localtime(posting.starts_at):%Y-%m-%d %H:%M})."
        )
        raise DomainError(message, fields={"expires_at": [message]})
    return expires_at


def _tell_offered(application: Application, expires_at: datetime) -> None:
    """The student hears of the offer, and is reminded before it expires."""
    title = application.posting.title
    link = application_link(application)
    notify(
        recipient=application.student,
        kind="offer.made",
        title=f"You received an offer for “{title}”",
        body=f"Please accept or decline by {timezone.localtime(expires_at):%Y-%m-%d %H:%M %Z}.",
        link=link,
        dedupe_key=f"application:{application.pk}:offered",
    )
    reminder_schedule(
        key=f"application:{application.pk}:offer_due",
        recipient=application.student,
        kind="reminder.offer_due",
        title=f"Your offer for “{title}” expires soon: accept or decline it",
        send_at=expires_at - settings.REMINDER_OFFER_BEFORE,
        expires_at=expires_at,
        link=link,
    )


@transaction.atomic
def application_decline(*, application: Application, actor: User) -> Application:
    application = _lock_application(application)
    _require_student(actor, application.student_id, "decline this offer")
    if application.status == AppStatus.DECLINED:
        return application
    _close_application(application, AppStatus.DECLINED, action="application.declined", actor=actor)
    _tell_team(
        application,
        event="declined",
        kind="offer.declined",
        title=(
            f"{application.student.display_name} declined your offer for "
            f"“{application.posting.title}”"
        ),
    )
    return application


def _expire_offer(application: Application, now: datetime) -> bool:
    """Expire a locked, offered application whose deadline has passed."""
    expires_at = application.offer_expires_at
    if application.status != AppStatus.OFFERED or expires_at is None or expires_at > now:
        return False
    _close_application(application, AppStatus.EXPIRED, action="application.expired", now=now)
    title = f"The offer for “{application.posting.title}” expired unanswered"
    link = application_link(application)
    notify(
        recipient=application.student,
        kind="offer.expired",
        title=title,
        link=link,
        dedupe_key=f"application:{application.pk}:expired",
    )
    _tell_team(
        application,
        event="expired",
        kind="offer.expired",
        title=f"{application.student.display_name}: {title[0].lower()}{title[1:]}",
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
                .offers_due(now)
                .order_by("offer_expires_at")[: settings.APPLICATIONS_SWEEP_BATCH_SIZE]
            )
            if not due:
                return expired
            done = sum(_expire_offer(application, now) for application in due)
            if not done:  # nothing could move: never spin on the same rows
                return expired
            expired += done


def _require_payable(application: Application) -> None:
    """A paid offer in a currency the student cannot be paid out in (their payout country's
    currency or the platform's) is refused before the seat is taken."""
    posting = application.posting
    profile = student_profile_for(application.student)
    if profile is None or not (posting.is_paid and posting.amount > 0 and profile.payout_country):
        return
    country = profile.payout_country
    payable = payout_countries.payout_currencies(country)
    if posting.currency not in payable:
        raise DomainError(
            f"This offer pays in {posting.currency}, and payouts to your bank in "
            f"{profile.get_payout_country_display()} can only be made in "
            f"{' or '.join(sorted(payable))}.",
            code="payout_currency",
        )


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
    _require_payable(application)
    status_move(application, AppStatus.ACCEPTED, "application")
    now = _now()
    if application.offer_expires_at and application.offer_expires_at <= now:
        raise DomainError("This offer has expired.", code="offer_expired")
    posting = posting_seat_taken(posting=application.posting)
    application.closed_at = now
    application.save(update_fields=["status", "closed_at", "updated_at"])

    assignment = _assignment_create(application, posting, now)
    paid = assignment.status == AsgStatus.AWAITING_FUNDING
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
    _tell_accepted(application, assignment, paid=paid, now=now)
    if posting.seats_left <= 0:
        from ..tasks import close_for_posting

        close_for_posting.delay_on_commit(posting.pk)
    return assignment


def _assignment_create(application: Application, posting: Posting, now: datetime) -> Assignment:
    """The assignment of an accepted offer, with the posting's milestones (or one final
    delivery); a paid one waits for funding, a credit one is active at once."""
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
    return assignment


def _tell_accepted(
    application: Application, assignment: Assignment, *, paid: bool, now: datetime
) -> None:
    """The employer's team hears of the acceptance; a paid assignment gets its funding
    reminders, a credit one its work reminders."""
    posting = assignment.posting
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
