"""Reads with logic: who may see what, the employer's pipeline, records, dashboards.

Visibility rule for every object of this app: the student it belongs to and the members of the
posting's employer see it; staff see the thread and the deliverables of an assignment that has
(or had) a dispute. For anyone else it does not exist (404), so existence never leaks. Lists
filter with ``visible_to(user)`` (``applications.models.VisibleToQuerySet``); one object's
``*_role`` below says which of those sides the user is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db.models import (
    Avg,
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
    Window,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone

from accounts.models import Employer, StudentProfile, User
from accounts.selectors import employer_for_user, is_member
from postings.models import Posting
from postings.selectors import without_text

if TYPE_CHECKING:
    from notifications.calendar import CalendarEvent

from .models import (
    Application,
    Assignment,
    Dispute,
    Message,
    Milestone,
    Rating,
    Submission,
    SubmissionFile,
)

STUDENT = "student"
EMPLOYER = "employer"
STAFF = "staff"


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _role_for(user, *, student_id: int, employer_id: int, disputed: bool) -> str | None:
    if not _authenticated(user):
        return None
    if user.pk == student_id:
        return STUDENT
    if is_member(user, employer_id):
        return EMPLOYER
    if user.is_staff and disputed:
        return STAFF
    return None


def _has_dispute(application_id: int) -> bool:
    return Dispute.objects.filter(milestone__assignment__application_id=application_id).exists()


def application_role(*, application: Application, user) -> str | None:
    """How ``user`` sees the application: student, employer, staff (disputed only) or None."""
    role = _role_for(
        user,
        student_id=application.student_id,
        employer_id=application.posting.employer_id,
        disputed=False,
    )
    if role is None and _authenticated(user) and user.is_staff and _has_dispute(application.pk):
        role = STAFF
    return role


def application_get_for_user(*, pk: int, user) -> tuple[Application, str]:
    application = (
        Application.objects.select_related(
            "posting__employer", "student__student_profile", "assignment"
        )
        .filter(pk=pk)
        .first()
    )
    role = application_role(application=application, user=user) if application else None
    if application is None or role is None:
        raise Http404("No such application.")
    return application, role


def assignment_role(*, assignment: Assignment, user) -> str | None:
    role = _role_for(
        user,
        student_id=assignment.student_id,
        employer_id=assignment.posting.employer_id,
        disputed=False,
    )
    if (
        role is None
        and _authenticated(user)
        and user.is_staff
        and Dispute.objects.filter(milestone__assignment=assignment).exists()
    ):
        role = STAFF
    return role


def assignment_get_for_user(*, pk: int, user) -> tuple[Assignment, str]:
    assignment = (
        Assignment.objects.select_related("posting__employer", "student", "application")
        .filter(pk=pk)
        .first()
    )
    role = assignment_role(assignment=assignment, user=user) if assignment else None
    if assignment is None or role is None:
        raise Http404("No such assignment.")
    return assignment, role


def milestone_get_for_user(*, pk: int, user) -> tuple[Milestone, str]:
    milestone = (
        Milestone.objects.select_related("assignment__posting__employer", "assignment__student")
        .filter(pk=pk)
        .first()
    )
    role = assignment_role(assignment=milestone.assignment, user=user) if milestone else None
    if milestone is None or role is None:
        raise Http404("No such milestone.")
    return milestone, role


def submission_file_get_for_user(*, pk: int, user) -> SubmissionFile:
    item = (
        SubmissionFile.objects.select_related("submission__milestone__assignment__posting")
        .filter(pk=pk)
        .first()
    )
    if (
        item is None
        or assignment_role(assignment=item.submission.milestone.assignment, user=user) is None
    ):
        raise Http404("No such file.")
    return item


def milestones_with_submissions(assignment: Assignment) -> list[Milestone]:
    """The milestones with every submission version, its files and the dispute."""
    return list(
        assignment.milestones.select_related("dispute").prefetch_related(
            Prefetch(
                "submissions",
                queryset=Submission.objects.select_related("submitted_by", "reviewed_by")
                .prefetch_related("files")
                .order_by("-version"),
            )
        )
    )


def thread_messages(application: Application) -> QuerySet[Message]:
    return application.messages.select_related("sender")


# --- Ratings and the verified record ---------------------------------------------------------


def ratings_visible(*, assignment: Assignment, role: str | None) -> dict[str, Rating | None]:
    """Each side's rating as ``role`` may see it: your own always, the other's once published."""
    shown: dict[str, Rating | None] = {"by_student": None, "by_employer": None}
    own = {STUDENT: Rating.Direction.BY_STUDENT, EMPLOYER: Rating.Direction.BY_EMPLOYER}.get(
        role or ""
    )
    for rating in assignment.ratings.all():
        if rating.published_at is not None or rating.direction == own:
            shown[rating.direction] = rating
    return shown


def _completed_count():
    return Coalesce(
        Subquery(
            Assignment.objects.filter(
                student=OuterRef("student"), status=Assignment.Status.COMPLETED
            )
            .values("student")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def _student_rating():
    return Subquery(
        Rating.objects.filter(
            student=OuterRef("student"),
            direction=Rating.Direction.BY_EMPLOYER,
            published_at__isnull=False,
        )
        .values("student")
        .annotate(avg=Avg("score"))
        .values("avg")
    )


def student_rating_summary(student: User) -> dict:
    figures = Rating.objects.filter(
        student=student, direction=Rating.Direction.BY_EMPLOYER, published_at__isnull=False
    ).aggregate(avg=Avg("score"), count=Count("pk"))
    return figures


@dataclass
class RecordEntry:
    assignment: Assignment
    rating: Rating | None
    paid_milestones: int = 0
    milestones: int = 0


def record_entries(*, student: User, include_hidden: bool = False) -> list[RecordEntry]:
    """Work done, for the verified record: completed assignments with the employer's published
    rating, then assignments still running whose paid milestones already count as work done."""
    paid = Count("milestones", filter=Q(milestones__status=Milestone.Status.PAID), distinct=True)
    assignments = (
        Assignment.objects.filter(student=student)
        .annotate(paid_count=paid, milestone_count=Count("milestones", distinct=True))
        .filter(
            Q(status=Assignment.Status.COMPLETED)
            | Q(status=Assignment.Status.ACTIVE, paid_count__gt=0)
        )
        .select_related("posting__employer")
        .prefetch_related(
            "posting__skills",
            Prefetch(
                "ratings",
                queryset=Rating.objects.filter(
                    direction=Rating.Direction.BY_EMPLOYER, published_at__isnull=False
                ),
                to_attr="employer_ratings",
            ),
        )
        .order_by(F("completed_at").desc(nulls_last=True), "-pk")
    )
    if not include_hidden:
        assignments = assignments.filter(show_on_record=True)
    return [
        RecordEntry(
            assignment=a,
            rating=a.employer_ratings[0] if a.employer_ratings else None,
            paid_milestones=a.paid_count,
            milestones=a.milestone_count,
        )
        for a in assignments
    ]


def record_profile_for_viewer(*, slug: str, user) -> tuple[StudentProfile, bool]:
    """The profile behind a record link, and whether the viewer is its owner.

    The record is shown to everyone when the student made it public; otherwise only to the
    student and to employers the student applied to (they share their profile by applying).
    """
    profile = StudentProfile.objects.select_related("user").filter(public_slug=slug).first()
    if profile is None:
        raise Http404("No such record.")
    is_owner = _authenticated(user) and user.pk == profile.user_id
    if profile.record_public or is_owner:
        return profile, is_owner
    employer = employer_for_user(user) if _authenticated(user) else None
    if (
        employer is not None
        and Application.objects.filter(
            student_id=profile.user_id, posting__employer=employer
        ).exists()
    ):
        return profile, False
    raise Http404("No such record.")


# --- The employer's pipeline -----------------------------------------------------------------

PIPELINE_COLUMNS = [
    (Application.Status.SUBMITTED, "New"),
    (Application.Status.SHORTLISTED, "Shortlisted"),
    (Application.Status.OFFERED, "Offered"),
    (Application.Status.ACCEPTED, "Accepted"),
    (Application.Status.REJECTED, "Not selected"),
    ("closed", "Closed"),
]
_CLOSED_COLUMN = {
    Application.Status.WITHDRAWN,
    Application.Status.DECLINED,
    Application.Status.EXPIRED,
}


def pipeline_applications(*, posting: Posting) -> QuerySet[Application]:
    """Every application to ``posting`` with the student's profile, record and rating, in one
    query (subqueries), so the page costs the same for 5 or 500 applicants."""
    return (
        Application.objects.filter(posting=posting)
        .select_related("student__student_profile")
        .annotate(completed_count=_completed_count(), student_rating=_student_rating())
        .order_by("created_at", "id")
    )


def pipeline_columns(applications) -> list[tuple[str, str, list[Application]]]:
    buckets: dict[str, list[Application]] = {key: [] for key, _ in PIPELINE_COLUMNS}
    for application in applications:
        key = "closed" if application.status in _CLOSED_COLUMN else application.status
        buckets[key].append(application)
    return [(key, label, buckets[key]) for key, label in PIPELINE_COLUMNS]


def employer_postings_with_counts(*, employer: Employer, limit: int | None = None):
    """The employer's postings (not drafts or rejected ones), newest first, each with its
    numbers of applicants. With ``limit`` (the dashboard) the newest postings are picked
    first and only their applications are counted: an employer with thousands of postings
    pays for ``limit`` of them, not for all. The postings' long texts are not read."""
    postings = (
        Posting.objects.filter(employer=employer)
        .exclude(status__in=[Posting.Status.DRAFT, Posting.Status.REJECTED])
        .order_by("-created_at", "-id")
    )
    if limit:
        postings = postings.filter(pk__in=postings.values("pk")[:limit])
    # One join to the applications, so each is one row: plain counts, no DISTINCT (which
    # sorts every posting's applications).
    return postings.defer(*without_text()).annotate(
        applicant_count=Count("applications"),
        new_count=Count(
            "applications", filter=Q(applications__status=Application.Status.SUBMITTED)
        ),
        open_count=Count("applications", filter=Q(applications__status__in=list(Application.OPEN))),
    )


# --- Lists -----------------------------------------------------------------------------------


def applications_for_student(user: User) -> QuerySet[Application]:
    return (
        Application.objects.filter(student=user)
        .select_related("posting__employer", "assignment")
        .order_by("-created_at", "-id")
    )


def _next_due():
    return Min(
        "milestones__due_at",
        filter=Q(
            milestones__status__in=[Milestone.Status.OPEN, Milestone.Status.REVISION_REQUESTED]
        ),
    )


def assignments_list_for(user) -> QuerySet[Assignment]:
    return (
        Assignment.objects.visible_to(user)
        .select_related("posting__employer", "student")
        .annotate(next_due_at=_next_due())
        .order_by("-created_at")
    )


# --- Money figures ---------------------------------------------------------------------------


MoneyPerMonth = dict[str, dict["date | None", int]]


def money_per_month(milestones: QuerySet[Milestone]) -> MoneyPerMonth:
    """``{currency: {month start: minor units}}`` over all time, in one grouped query: paid
    milestones by the month they were paid, plus the student's part of a resolved dispute by
    the month it was resolved (months of the current time zone; None for a paid milestone
    without its date). The dashboards' totals (``money_by_currency``) and their charts
    (``applications.charts``) are both read from it, so a dashboard asks once."""
    from .charts import _local_date

    paid = Q(status=Milestone.Status.PAID)
    rows = (
        milestones.filter(paid | Q(status=Milestone.Status.RESOLVED, dispute__student_amount__gt=0))
        .annotate(
            month=TruncMonth(
                Case(
                    When(paid, then=F("paid_at")),
                    default=F("dispute__resolved_at"),
                    output_field=DateTimeField(),
                )
            )
        )
        .values("assignment__currency", "month")
        .annotate(
            total=Sum(
                Case(
                    When(paid, then=F("amount")),
                    default=F("dispute__student_amount"),
                    output_field=IntegerField(),
                )
            )
        )
        .order_by()
    )
    totals: MoneyPerMonth = {}
    for row in rows:
        month = _local_date(row["month"]) if row["month"] is not None else None
        per_month = totals.setdefault(row["assignment__currency"], {})
        per_month[month] = per_month.get(month, 0) + (row["total"] or 0)
    return totals


def money_by_currency(per_month: MoneyPerMonth) -> list[dict]:
    """All-time totals per currency of ``money_per_month``'s figures."""
    return [
        {"currency": currency, "amount": sum(per_month[currency].values())}
        for currency in sorted(per_month)
    ]


def student_money(user: User) -> MoneyPerMonth:
    return money_per_month(Milestone.objects.filter(assignment__student=user))


def employer_money(employer: Employer) -> MoneyPerMonth:
    return money_per_month(Milestone.objects.filter(assignment__posting__employer=employer))


def student_earnings(user: User) -> list[dict]:
    """Paid milestones plus the student's part of resolved disputes, per currency."""
    return money_by_currency(student_money(user))


def employer_spend(employer: Employer) -> list[dict]:
    return money_by_currency(employer_money(employer))


# --- Dashboards ------------------------------------------------------------------------------


def student_dashboard(user: User, *, limit: int = 8, money: MoneyPerMonth | None = None) -> dict:
    """The student's panel: newest open applications (with their number, counted in the same
    query), offers waiting for an answer, active assignments, earnings (from ``money``, the
    request's ``student_money``, when the caller has it). Only the columns shown are read."""
    applications = list(
        Application.objects.filter(student=user, status__in=list(Application.OPEN))
        .select_related("posting")
        .only("id", "status", "posting__id", "posting__title")
        .annotate(open_count=Window(Count("*")))
        .order_by("-created_at", "-id")[:limit]
    )
    offers = list(
        Application.objects.filter(
            student=user, status=Application.Status.OFFERED, offer_expires_at__gt=timezone.now()
        )
        .select_related("posting__employer")
        .only("id", "offer_expires_at", "posting__id", "posting__title", "posting__employer__name")
        .order_by("offer_expires_at")[:limit]
    )
    assignments = list(
        Assignment.objects.filter(
            student=user,
            status__in=[Assignment.Status.AWAITING_FUNDING, Assignment.Status.ACTIVE],
        )
        .select_related("posting")
        .only("id", "status", "posting__id", "posting__title")
        .annotate(next_due_at=_next_due())
        .order_by("next_due_at", "id")[:limit]
    )
    return {
        "applications": applications,
        "open_count": applications[0].open_count if applications else 0,
        "offers": offers,
        "assignments": assignments,
        "earnings": money_by_currency(student_money(user) if money is None else money),
    }


def employer_dashboard(
    employer: Employer, *, limit: int = 8, money: MoneyPerMonth | None = None
) -> dict:
    """The employer's panel: postings with their applicants, work waiting for review or for
    funding, spend (from ``money``, the request's ``employer_money``, when the caller has it).
    Only the columns shown are read."""
    student = ("student__id", "student__full_name", "student__email")
    reviews = list(
        Milestone.objects.filter(
            assignment__posting__employer=employer, status=Milestone.Status.SUBMITTED
        )
        .select_related("assignment__posting", "assignment__student")
        .only(
            "id",
            "assignment_id",
            "title",
            "review_due_at",
            "assignment__id",
            "assignment__posting__id",
            "assignment__posting__title",
            *(f"assignment__{name}" for name in student),
        )
        .order_by("review_due_at", "id")[:limit]
    )
    awaiting_funding = list(
        Assignment.objects.filter(
            posting__employer=employer, status=Assignment.Status.AWAITING_FUNDING
        )
        .select_related("posting", "student")
        .only("id", "funding_due_at", "posting__id", "posting__title", *student)
        .order_by("funding_due_at", "id")[:limit]
    )
    postings = employer_postings_with_counts(employer=employer, limit=limit)
    return {
        "employer": employer,
        "postings": list(postings.only("id", "title", "status")),
        "reviews": reviews,
        "awaiting_funding": awaiting_funding,
        "spend": money_by_currency(employer_money(employer) if money is None else money),
    }


def disputes_open() -> QuerySet[Dispute]:
    return Dispute.objects.filter(resolved_at__isnull=True).select_related(
        "milestone__assignment__posting__employer", "milestone__assignment__student", "opened_by"
    )


def offer_deadline_passed(application: Application, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(application.offer_expires_at and application.offer_expires_at <= now)


def calendar_events_for(user) -> list[CalendarEvent]:
    """This user's deadlines for the calendar feed (at most two queries)."""
    if not _authenticated(user):
        return []
    if user.is_student:
        return _student_events(user)
    employer = employer_for_user(user)
    return _employer_events(employer) if employer is not None else []


def _student_events(user) -> list[CalendarEvent]:
    """Work due on active assignments, and offers waiting for an answer."""
    from notifications.calendar import CalendarEvent

    events: list[CalendarEvent] = []
    for m in Milestone.objects.filter(
        assignment__student=user,
        assignment__status=Assignment.Status.ACTIVE,
        status__in=[Milestone.Status.OPEN, Milestone.Status.REVISION_REQUESTED],
    ).select_related("assignment__posting"):
        events.append(
            CalendarEvent(
                uid=f"milestone-{m.pk}-due",
                title=f"Due: {m.title} ({m.assignment.posting.title})",
                starts_at=m.due_at,
                link=f"/assignments/{m.assignment_id}/",
            )
        )
    for a in Application.objects.filter(
        student=user, status=Application.Status.OFFERED, offer_expires_at__isnull=False
    ).select_related("posting"):
        events.append(
            CalendarEvent(
                uid=f"application-{a.pk}-offer",
                title=f"Answer the offer: {a.posting.title}",
                starts_at=a.offer_expires_at,  # type: ignore[arg-type]  # filtered not null
                link=f"/applications/{a.pk}/",
            )
        )
    return events


def _employer_events(employer: Employer) -> list[CalendarEvent]:
    """Submitted work to review before it is approved automatically, and assignments to fund."""
    from notifications.calendar import CalendarEvent

    events: list[CalendarEvent] = []
    for m in Milestone.objects.filter(
        assignment__posting__employer=employer,
        status=Milestone.Status.SUBMITTED,
        review_due_at__isnull=False,
    ).select_related("assignment__posting", "assignment__student"):
        events.append(
            CalendarEvent(
                uid=f"milestone-{m.pk}-review-{m.submitted_at:%Y%m%d%H%M%S}",
                title=f"Review (or it is approved automatically): {m.title}",
                starts_at=m.review_due_at,  # type: ignore[arg-type]  # filtered not null
                link=f"/assignments/{m.assignment_id}/",
                description=f"{m.assignment.posting.title} · {m.assignment.student.display_name}",
            )
        )
    for asg in Assignment.objects.filter(
        posting__employer=employer, status=Assignment.Status.AWAITING_FUNDING
    ).select_related("posting", "student"):
        events.append(
            CalendarEvent(
                uid=f"assignment-{asg.pk}-funding",
                title=f"Fund the assignment: {asg.posting.title}",
                starts_at=asg.funding_due_at,  # type: ignore[arg-type]  # set while awaiting funding
                link=f"/assignments/{asg.pk}/",
                description=asg.student.display_name,
            )
        )
    return events


def rating_given(*, assignment: Assignment, role: str) -> Rating | None:
    """The rating this side (student or employer) gave on the assignment, if any."""
    direction = {
        STUDENT: Rating.Direction.BY_STUDENT,
        EMPLOYER: Rating.Direction.BY_EMPLOYER,
    }.get(role)
    if direction is None:
        return None
    return assignment.ratings.filter(direction=direction).first()


def dispute_of(*, milestone: Milestone) -> Dispute:
    """The milestone's dispute; a milestone without one cannot be decided (409)."""
    from marketplace.core.errors import InvalidTransition

    dispute = Dispute.objects.filter(milestone=milestone).first()
    if dispute is None:
        raise InvalidTransition("This milestone has no dispute to decide.")
    return dispute
