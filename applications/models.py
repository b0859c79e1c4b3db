"""From a student's application to finished, approved work.

Application -> (offer accepted) -> Assignment with Milestones copied from the posting ->
Submissions per milestone -> approval -> (payments pays the milestone) -> Ratings.
Each status is a TextChoices with its transition map; the services package is the one place
that changes a status. The payments app reads these models, calls ``assignment_mark_funded`` and
``milestone_mark_paid``, and listens to the signals in ``signals.py``; this app never imports
payments. Unfunded assignments are cancelled by this app's own sweep (``funding_due_at``).

Choices made where the product brief is silent:
- A milestone with nothing to pay (academic credit) is final when approved: the assignment
  completes when every milestone is approved, paid or resolved by staff.
- When a posting is filled (or withdrawn/removed) every open application is closed with a notice;
  when it closes at its deadline only the unanswered ones are, so the employer can still offer
  to shortlisted students.
- Response rate: of the applications due an answer (answered, or their posting closed), the share
  the employer answered before the posting closed; withdrawn-before-any-answer ones do not count.
- Ratings are double-blind: ``Rating.published_at`` is set when both sides have rated or the
  14-day window closes; averages and the record use published ratings only.
- Earnings and spend count paid milestones plus the student's part of resolved disputes.
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q

from accounts.models import Employer
from accounts.selectors import employer_for_user
from postings.models import Posting

from .storage import private_storage


def _private_name(prefix: str, filename: str) -> str:
    """A random name under a private prefix; the original name is kept in the database only."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"private/{prefix}/{uuid.uuid4().hex}{suffix}"


def cv_upload_to(instance, filename: str) -> str:
    return _private_name(f"cv/{instance.posting_id}", filename)


def submission_file_upload_to(instance, filename: str) -> str:
    return _private_name(f"submissions/{instance.submission.milestone_id}", filename)


class VisibleToQuerySet(models.QuerySet):
    """The visibility rule of this app's objects, in one place: a student sees their own rows,
    the members of the posting's employer see the employer's rows, and staff (whatever their own
    role) also see the rows with a dispute: the same objects their pages show them. For anyone
    else a row does not exist (the pages and the API answer 404, so existence never leaks)."""

    # How a Dispute reaches a row of this model (``Dispute.objects.filter(<path>=row)``).
    dispute_path: str

    def visible_to(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        own = Q(pk__in=[])
        if user.is_student:
            own = Q(student=user)
        elif (org := employer_for_user(user)) is not None:
            own = Q(posting__employer=org)
        if user.is_staff:
            own |= Q(Exists(Dispute.objects.filter(**{self.dispute_path: OuterRef("pk")})))
        return self.filter(own)


class ApplicationQuerySet(VisibleToQuerySet):
    dispute_path = "milestone__assignment__application"

    def offers_due(self, now):
        """Offers whose answer deadline has passed (the sweep; index ``application_offer_due``)."""
        return self.filter(status=Application.Status.OFFERED, offer_expires_at__lte=now)


class Application(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        SHORTLISTED = "shortlisted", "Shortlisted"
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Offer declined"
        EXPIRED = "expired", "Offer expired"
        REJECTED = "rejected", "Not selected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class CloseReason(models.TextChoices):
        FILLED = "filled", "Every seat was filled"
        POSTING_CLOSED = "posting_closed", "The posting closed"

    OPEN = {Status.SUBMITTED, Status.SHORTLISTED, Status.OFFERED}
    # The thread stays open while the application is open and into the assignment.
    THREAD_OPEN = OPEN | {Status.ACCEPTED}
    TRANSITIONS: dict[str, set[str]] = {
        Status.SUBMITTED: {Status.SHORTLISTED, Status.OFFERED, Status.REJECTED, Status.WITHDRAWN},
        Status.SHORTLISTED: {Status.OFFERED, Status.REJECTED, Status.WITHDRAWN},
        Status.OFFERED: {
            Status.ACCEPTED,
            Status.DECLINED,
            Status.EXPIRED,
            Status.REJECTED,
            Status.WITHDRAWN,
        },
        Status.ACCEPTED: set(),
        Status.DECLINED: set(),
        Status.EXPIRED: set(),
        Status.REJECTED: set(),
        Status.WITHDRAWN: set(),
    }

    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="applications")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="applications"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    cover_note = models.TextField(max_length=3000)
    # {"<question id>": "answer"} for the posting's screening questions.
    answers = models.JSONField(default=dict, blank=True)
    portfolio_links = models.JSONField(default=list, blank=True)
    cv = models.FileField(
        upload_to=cv_upload_to, storage=private_storage, max_length=300, blank=True
    )
    cv_name = models.CharField(max_length=255, blank=True)
    rejection_message = models.TextField(max_length=2000, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    # When the employer first answered (shortlist, offer or reject): the response rate uses it.
    employer_responded_at = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    # When the application left the open states, and why when nobody chose to close it.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["posting", "student"],
                condition=models.Q(status__in=["submitted", "shortlisted", "offered"]),
                name="application_one_open_per_student",
            )
        ]
        indexes = [
            models.Index(fields=["posting", "status"], name="application_posting_status"),
            models.Index(fields=["student", "status"], name="application_student_status"),
            models.Index(
                fields=["offer_expires_at"],
                condition=models.Q(status="offered"),
                name="application_offer_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} → {self.posting}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class AssignmentQuerySet(VisibleToQuerySet):
    dispute_path = "milestone__assignment"

    def funding_due(self, now):
        """Paid assignments not funded by their deadline (index ``assignment_funding_due``)."""
        return self.filter(status=Assignment.Status.AWAITING_FUNDING, funding_due_at__lte=now)


class Assignment(models.Model):
    class Status(models.TextChoices):
        AWAITING_FUNDING = "awaiting_funding", "Waiting for funding"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS: dict[str, set[str]] = {
        Status.AWAITING_FUNDING: {Status.ACTIVE, Status.CANCELLED},
        Status.ACTIVE: {Status.COMPLETED, Status.CANCELLED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
    }

    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="assignment"
    )
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="assignments")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    # Copied from the posting when the offer is accepted: later edits do not change the deal.
    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    allowed_revisions = models.PositiveSmallIntegerField(default=2)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # A paid assignment not funded by then expires and frees the seat.
    funding_due_at = models.DateTimeField(null=True, blank=True)
    funded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    # Cancellation by agreement: each side's consent; both -> cancelled.
    cancel_agreed_by_student_at = models.DateTimeField(null=True, blank=True)
    cancel_agreed_by_employer_at = models.DateTimeField(null=True, blank=True)
    # Ratings are accepted until then; afterwards the unanswered side's rating is published.
    rating_due_at = models.DateTimeField(null=True, blank=True)
    # The student decides whether this work appears on their public record.
    show_on_record = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["funding_due_at"],
                condition=models.Q(status="awaiting_funding"),
                name="assignment_funding_due",
            ),
            models.Index(fields=["student", "status"], name="assignment_student_status"),
            models.Index(fields=["posting", "status"], name="assignment_posting_status"),
        ]

    def __str__(self) -> str:
        return f"{self.posting} · {self.student}"

    @property
    def is_paid(self) -> bool:
        return self.amount > 0

    @property
    def is_open(self) -> bool:
        return self.status in {self.Status.AWAITING_FUNDING, self.Status.ACTIVE}


class MilestoneQuerySet(models.QuerySet):
    def review_due(self, now):
        """Submitted work of active assignments whose review window has ended: approved
        automatically (index ``milestone_review_due``)."""
        return self.filter(
            status=Milestone.Status.SUBMITTED,
            review_due_at__lte=now,
            assignment__status=Assignment.Status.ACTIVE,
        )


class Milestone(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted for review"
        REVISION_REQUESTED = "revision_requested", "Revision requested"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"
        DISPUTED = "disputed", "Disputed"
        RESOLVED = "resolved", "Resolved by staff"

    TRANSITIONS: dict[str, set[str]] = {
        Status.OPEN: {Status.SUBMITTED, Status.DISPUTED},
        Status.SUBMITTED: {Status.REVISION_REQUESTED, Status.APPROVED, Status.DISPUTED},
        Status.REVISION_REQUESTED: {Status.SUBMITTED, Status.DISPUTED},
        Status.APPROVED: {Status.PAID},
        Status.PAID: set(),
        Status.DISPUTED: {Status.RESOLVED},
        Status.RESOLVED: set(),
    }

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=120)
    amount = models.BigIntegerField(default=0)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    revisions_used = models.PositiveSmallIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Set when a submission waits for review: the beat sweep approves it automatically then.
    review_due_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    auto_approved = models.BooleanField(default=False)
    paid_at = models.DateTimeField(null=True, blank=True)

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["assignment", "position", "id"]
        indexes = [
            models.Index(
                fields=["review_due_at"],
                condition=models.Q(status="submitted"),
                name="milestone_review_due",
            ),
            models.Index(
                fields=["approved_at"],
                condition=models.Q(status="approved"),
                name="milestone_approved",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="milestone_amount_ge_0")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.assignment})"

    @property
    def is_done(self) -> bool:
        """Nothing more happens to it: paid, resolved, or approved with nothing to pay."""
        return self.status in {self.Status.PAID, self.Status.RESOLVED} or (
            self.status == self.Status.APPROVED and self.amount == 0
        )

    @property
    def can_submit(self) -> bool:
        return self.status in {self.Status.OPEN, self.Status.REVISION_REQUESTED}


class Dispute(models.Model):
    """Opened by either side with a reason; staff decide. Payments carries out the money part."""

    class Resolution(models.TextChoices):
        RELEASE = "release", "Release to the student"
        REFUND = "refund", "Refund the employer"
        SPLIT = "split", "Split"

    milestone = models.OneToOneField(Milestone, on_delete=models.CASCADE, related_name="dispute")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(max_length=3000)
    created_at = models.DateTimeField(auto_now_add=True)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    # The part of the milestone amount that goes to the student (all for release, 0 for refund).
    student_amount = models.BigIntegerField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Dispute on {self.milestone}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Submission(models.Model):
    """One version of a milestone's deliverable; every version is kept."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        REVISION_REQUESTED = "revision_requested", "Revision requested"
        APPROVED = "approved", "Approved"
        AUTO_APPROVED = "auto_approved", "Approved automatically"
        DISPUTED = "disputed", "Disputed"

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="submissions")
    version = models.PositiveSmallIntegerField()
    note = models.TextField(max_length=5000, blank=True)
    links = models.JSONField(default=list, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    # The employer's answer to this version (the revision request's feedback).
    feedback = models.TextField(max_length=5000, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["milestone", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["milestone", "version"], name="submission_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.milestone} v{self.version}"


class SubmissionFile(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(
        upload_to=submission_file_upload_to, storage=private_storage, max_length=300
    )
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    # The type found in the content (pdf, png, zip, ...), not the one the browser claimed.
    kind = models.CharField(max_length=10)
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submission", "id"]

    def __str__(self) -> str:
        return self.original_name


class RatingQuerySet(models.QuerySet):
    def publish_due(self, now):
        """Ratings still hidden whose rating window has closed: published alone."""
        return self.filter(published_at__isnull=True, assignment__rating_due_at__lte=now)


class Rating(models.Model):
    """One side's rating of the other after completion; double-blind until ``published_at``."""

    class Direction(models.TextChoices):
        BY_STUDENT = "by_student", "The student rated the employer"
        BY_EMPLOYER = "by_employer", "The employer rated the student"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="ratings")
    direction = models.CharField(max_length=12, choices=Direction.choices)
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Both parties, kept here so that averages are one indexed query.
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings_involved"
    )
    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="ratings")
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when both sides have rated or the rating window closed: only then is it shown.
    published_at = models.DateTimeField(null=True, blank=True)

    objects = RatingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "direction"], name="rating_one_per_side"),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_5"
            ),
        ]
        indexes = [
            models.Index(fields=["student", "direction"], name="rating_student"),
            models.Index(fields=["employer", "direction"], name="rating_employer"),
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 ({self.get_direction_display()})"


class Message(models.Model):
    """A message in the thread of an application (which continues into its assignment)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["application", "created_at"], name="message_thread")]

    def __str__(self) -> str:
        return f"Message from {self.sender} on {self.application_id}"


class ReInvite(models.Model):
    """An employer invites a student they completed work with to apply to a new posting."""

    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="reinvites")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reinvites"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The completed work that makes the invitation possible.
    source_assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="reinvites"
    )
    message = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["posting", "student"], name="reinvite_once")]

    def __str__(self) -> str:
        return f"Invitation of {self.student} to {self.posting}"
