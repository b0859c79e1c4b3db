"""Postings: time-boxed, paid (or academic-credit) projects that employers offer to students.

The format (nano, micro, project, internship) is derived from the duration of the time box and
stored so that it can be filtered and indexed; it is never typed in.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Employer
from accounts.selectors import employer_for_user

from .markdown import render_markdown

HOUR = 1
DAY = 24 * HOUR
WEEK = 7 * DAY
MIN_DURATION_HOURS = 1
MAX_DURATION_HOURS = 12 * WEEK


class Format(models.TextChoices):
    NANO = "nano", "Nano (up to 3 days)"
    MICRO = "micro", "Micro (up to 4 weeks)"
    PROJECT = "project", "Project (up to 8 weeks)"
    INTERNSHIP = "internship", "Internship (up to 12 weeks)"


# Upper bound of each format's time box, in hours, inclusive; checked in this order.
FORMAT_LIMITS = [
    (Format.NANO, 3 * DAY),
    (Format.MICRO, 4 * WEEK),
    (Format.PROJECT, 8 * WEEK),
    (Format.INTERNSHIP, 12 * WEEK),
]


def format_for_duration(duration_hours: int) -> str:
    for fmt, limit in FORMAT_LIMITS:
        if duration_hours <= limit:
            return fmt
    raise ValueError(f"A time box of {duration_hours} hours is longer than 12 weeks.")


class Skill(models.Model):
    name = models.CharField(max_length=50, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PostingQuerySet(models.QuerySet):
    def published(self) -> "PostingQuerySet":
        """What students see in lists and search: published postings."""
        return self.filter(status=Posting.Status.PUBLISHED)

    def taking_applications(self, now: datetime | None = None) -> "PostingQuerySet":
        """Published with the application deadline ahead (``Posting.application_refusal`` is
        the same rule for one posting, with the seats)."""
        return self.published().filter(application_deadline__gt=now or timezone.now())

    def visible_to(self, user) -> "PostingQuerySet":
        """The postings ``user`` may open, the one rule for pages and the API.

        Published postings are public, and so are closed ones that were public until they
        closed (their deadline passed, their seats filled, their employer closed them): a student
        follows the link of an old application, and the pages show them read-only. Drafts,
        postings in review, suspended, rejected or removed ones, and postings closed before they
        were published or while suspended (a suspension's reason stays in ``moderation_reason``;
        publishing clears it) are seen only by the owning employer's members and by staff.
        """
        if getattr(user, "is_authenticated", False) and user.is_staff:
            return self.all()
        rule = models.Q(status=Posting.Status.PUBLISHED) | models.Q(
            status=Posting.Status.CLOSED, published_at__isnull=False, moderation_reason=""
        )
        # Students and visitors: no membership query needed.
        if getattr(user, "is_employer", False) and (org := employer_for_user(user)) is not None:
            rule |= models.Q(employer=org)
        return self.filter(rule)


class Posting(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_REVIEW = "pending_review", "Waiting for review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        PUBLISHED = "published", "Published"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"
        REJECTED = "rejected", "Rejected"
        REMOVED = "removed", "Removed"

    # Every allowed move; services/posting_* is the one code path that changes ``status``.
    TRANSITIONS: dict[str, set[str]] = {
        Status.DRAFT: {Status.PENDING_REVIEW, Status.PUBLISHED, Status.CLOSED},
        Status.PENDING_REVIEW: {
            Status.PUBLISHED,
            Status.CHANGES_REQUESTED,
            Status.REJECTED,
            Status.CLOSED,
        },
        Status.CHANGES_REQUESTED: {Status.PENDING_REVIEW, Status.PUBLISHED, Status.CLOSED},
        Status.PUBLISHED: {Status.SUSPENDED, Status.CLOSED},
        Status.SUSPENDED: {Status.PUBLISHED, Status.REMOVED, Status.CLOSED},
        # Only ``posting_seat_released`` re-opens a closed posting: when it was closed because
        # its seats were filled, a seat came free and the application deadline is still ahead.
        Status.CLOSED: {Status.PUBLISHED},
        Status.REJECTED: set(),
        Status.REMOVED: set(),
    }
    EDITABLE = {Status.DRAFT, Status.CHANGES_REQUESTED}

    class CloseReason(models.TextChoices):
        DEADLINE = "deadline", "Application deadline passed"
        FILLED = "filled", "All seats filled"
        WITHDRAWN = "withdrawn", "Withdrawn by the employer"

    class Compensation(models.TextChoices):
        PAID = "paid", "Paid"
        CREDIT = "credit", "Academic credit"

    class WorkMode(models.TextChoices):
        REMOTE = "remote", "Remote"
        ONSITE = "onsite", "On-site"
        HYBRID = "hybrid", "Hybrid"

    class Mentoring(models.TextChoices):
        NONE = "none", "None: work independently"
        LIGHT = "light", "Light: a contact for questions"
        REGULAR = "regular", "Regular: weekly check-ins"
        STRUCTURED = "structured", "Structured supervision"

    class Category(models.TextChoices):
        DATA = "data", "Data and analytics"
        SOFTWARE = "software", "Software development"
        DESIGN = "design", "Design and UX"
        MARKETING = "marketing", "Marketing and communications"
        RESEARCH = "research", "Research"
        BUSINESS = "business", "Business and operations"
        FINANCE = "finance", "Finance"
        OTHER = "other", "Other"

    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="postings")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)

    title = models.CharField(max_length=120)
    description = models.TextField(max_length=20000, help_text="Markdown.")
    acceptance_criteria = models.TextField(max_length=5000)
    # The two texts above as sanitised HTML (``postings.markdown``), rendered when the posting is
    # saved, so that its page, the moderation queue and the API never render Markdown on a read.
    description_html = models.TextField(blank=True, editable=False)
    criteria_html = models.TextField(blank=True, editable=False)
    skills = models.ManyToManyField(Skill, blank=True, related_name="postings")
    # The skills' names, comma-separated, kept by the services beside ``skills``: lists and
    # the detail show them without a query per page, and SQLite's search looks in them.
    skill_names = models.CharField(max_length=1000, blank=True, editable=False)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)

    # The time box: the work starts at ``starts_at`` and lasts ``duration_hours``.
    starts_at = models.DateTimeField()
    duration_hours = models.PositiveIntegerField()
    effort_hours = models.PositiveIntegerField(help_text="Estimated hours of work in total.")
    format = models.CharField(max_length=20, choices=Format.choices, editable=False)
    # Derived from effort and duration, stored for filtering.
    hours_per_week = models.DecimalField(max_digits=6, decimal_places=1, editable=False, default=0)

    work_mode = models.CharField(max_length=10, choices=WorkMode.choices, default=WorkMode.REMOTE)
    location = models.CharField(max_length=200, blank=True)
    mentoring = models.CharField(max_length=20, choices=Mentoring.choices, default=Mentoring.LIGHT)
    openings = models.PositiveSmallIntegerField(default=1)
    # Kept by the applications side through posting services as offers are accepted.
    seats_filled = models.PositiveSmallIntegerField(default=0)
    application_deadline = models.DateTimeField()
    allowed_revisions = models.PositiveSmallIntegerField(default=2)

    compensation = models.CharField(
        max_length=10, choices=Compensation.choices, default=Compensation.PAID
    )
    # Total paid per assignment, in integer minor units of ``currency`` (0 for credit postings).
    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    credit_arrangement = models.CharField(max_length=500, blank=True)

    # Moderation: rule flags found on submit, the last reason shown to the employer.
    flags = models.JSONField(default=list, blank=True)
    moderation_reason = models.TextField(blank=True)
    open_reports = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Full-text search on PostgreSQL (weighted title > skills > description), GIN-indexed by a
    # PostgreSQL-only migration; kept up to date by the posting services.
    search_vector = SearchVectorField(null=True, editable=False)
    # The posting's skills as words ("s12 s40", one per skill id) with a GIN index, on
    # PostgreSQL: a skill filter with a search becomes an intersection of two indexes (the
    # words' and the skills') instead of a walk through the newest postings until enough carry
    # both, which for a broad word and a rare skill read most of the table. The link table
    # stays the truth; this copy is written with the search vector (services.editing).
    skill_vector = SearchVectorField(null=True, editable=False)

    objects = PostingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Each public sort order has an index that serves it with the keyset condition
        # (status, sort column, id), so a deep page costs what the first one does.
        indexes = [
            models.Index(
                fields=["status", "-published_at", "-id"], name="posting_status_published"
            ),
            models.Index(
                fields=["status", "application_deadline", "id"], name="posting_status_deadline"
            ),
            models.Index(fields=["status", "-amount", "-id"], name="posting_status_amount"),
            # Minimum pay where currencies of other digits are supported: a range per currency
            # (``filters.pay_at_least``).
            models.Index(
                fields=["status", "currency", "-amount", "-id"], name="posting_currency_amount"
            ),
            models.Index(fields=["employer", "status"], name="posting_employer_status"),
            # An employer's newest postings (the dashboard's panel) without sorting all of them.
            models.Index(fields=["employer", "-created_at", "-id"], name="posting_employer_newest"),
            # Each filter of the list has an index that finds its matches without reading the
            # others: the equality filters in each sort order, so that a page of them is the
            # first rows of an index whatever their share (credit postings sorted by pay would
            # otherwise be found after every paid one), the range filters by their column.
            *[
                models.Index(fields=["status", column, *order], name=f"posting_{column}_{sort}")
                for column in ("format", "work_mode", "category", "compensation")
                for sort, order in (
                    ("new", ["-published_at", "-id"]),
                    ("due", ["application_deadline", "id"]),
                    ("pay", ["-amount", "-id"]),
                )
            ],
            models.Index(fields=["status", "starts_at"], name="posting_status_starts"),
            models.Index(fields=["status", "hours_per_week"], name="posting_status_hours"),
            # The sweep's second question: published postings whose seats are all taken.
            models.Index(
                fields=["status"],
                condition=models.Q(seats_filled__gte=models.F("openings")),
                name="posting_full",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(openings__gte=1), name="posting_openings_1"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="posting_amount_ge_0"),
            models.CheckConstraint(
                condition=models.Q(
                    duration_hours__gte=MIN_DURATION_HOURS, duration_hours__lte=MAX_DURATION_HOURS
                ),
                name="posting_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.format = format_for_duration(self.duration_hours)
        weeks = max(self.duration_hours / WEEK, 1)
        self.hours_per_week = round(self.effort_hours / weeks, 1)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"duration_hours", "effort_hours"} & set(update_fields):
            kwargs["update_fields"] = set(update_fields) | {"format", "hours_per_week"}
        if update_fields is None or {"description", "acceptance_criteria"} & set(update_fields):
            self.render_texts()
            if update_fields is not None:
                texts = {"description_html", "criteria_html"}
                kwargs["update_fields"] = set(kwargs["update_fields"]) | texts
        super().save(*args, **kwargs)

    def render_texts(self) -> None:
        """Fill ``description_html`` and ``criteria_html`` from the Markdown (``save`` does;
        code that writes rows without ``save``, like ``bulk_create``, calls it)."""
        self.description_html = render_markdown(self.description)
        self.criteria_html = render_markdown(self.acceptance_criteria)

    @property
    def ends_at(self):
        return self.starts_at + timedelta(hours=self.duration_hours)

    @property
    def skill_list(self) -> list[str]:
        return [name for name in self.skill_names.split(", ") if name]

    @property
    def is_paid(self) -> bool:
        return self.compensation == self.Compensation.PAID

    @property
    def seats_left(self) -> int:
        return max(self.openings - self.seats_filled, 0)

    def application_refusal(self, now: datetime | None = None) -> tuple[str, str] | None:
        """Why no one can apply to this posting now, as ``(code, message)``; None when it is
        open for applications (published, the deadline ahead, a seat left). The one check:
        the posting's page, the apply page and ``application_submit`` (so the API) use it."""
        if self.status != self.Status.PUBLISHED:
            return "posting_not_open", "This posting is not open for applications."
        if self.application_deadline <= (now or timezone.now()):
            return "deadline_passed", "The application deadline for this posting has passed."
        if self.seats_left <= 0:
            return (
                "posting_full",
                "Every seat of this posting is taken: it no longer accepts applications.",
            )
        return None

    @property
    def accepts_applications(self) -> bool:
        return self.application_refusal() is None

    @property
    def pay_per_hour(self) -> int:
        """Pay per estimated hour of work, in minor units (0 for credit postings)."""
        return self.amount // self.effort_hours if self.is_paid and self.effort_hours else 0


class PostingMilestone(models.Model):
    """A part of the work with its own due time (an offset from the start) and amount."""

    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=120)
    due_offset_hours = models.PositiveIntegerField()
    amount = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["posting", "position", "id"]

    def __str__(self) -> str:
        return self.title


class ScreeningQuestion(models.Model):
    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["posting", "position", "id"]

    def __str__(self) -> str:
        return self.text


class ModerationDecision(models.Model):
    class Action(models.TextChoices):
        APPROVE = "approve", "Approved"
        REQUEST_CHANGES = "request_changes", "Changes requested"
        REJECT = "reject", "Rejected"
        SUSPEND = "suspend", "Suspended"
        REINSTATE = "reinstate", "Reinstated"
        REMOVE = "remove", "Removed"
        AUTO_PUBLISH = "auto_publish", "Published without review (verified employer)"

    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="decisions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.posting}"


class Report(models.Model):
    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open report per user and posting.
            models.UniqueConstraint(
                fields=["posting", "reporter"],
                condition=models.Q(resolved_at__isnull=True),
                name="report_one_open_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"Report on {self.posting}"


class SavedSearch(models.Model):
    """A student's search of the public list, kept to get a daily digest of new postings.

    ``query`` is the list's query string in a canonical form (filters only, sorted, checked by
    ``PostingFilter``), so the same search cannot be saved twice and the digest's link opens the
    list filtered exactly as saved. ``next_digest_at`` is the deadline column the beat sweep
    picks due rows by.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    next_digest_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["next_digest_at", "id"], name="saved_search_due")]
        constraints = [
            models.UniqueConstraint(fields=["user", "query"], name="saved_search_unique_query")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def list_link(self) -> str:
        """The public list with these filters (a site path)."""
        path = reverse("postings:list")
        return f"{path}?{self.query}" if self.query else path


class SavedSearchHit(models.Model):
    """A posting a saved search's digest has told its owner about: never again for that search."""

    saved_search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="hits")
    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["saved_search", "posting"], name="saved_search_hit_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.saved_search} -> {self.posting_id}"
