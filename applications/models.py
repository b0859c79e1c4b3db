"""From a student's application to finished, approved work.

Application -> (offer accepted) -> Assignment with Milestones copied from the posting ->
Submissions per milestone -> approval -> (payments pays the milestone) -> Ratings.
Each status is a TextChoices with its transition map; applications/services.py is the one place
that changes a status. The payments app reads these models and calls the services
``assignment_mark_funded``, ``assignment_expire_unfunded`` and ``milestone_mark_paid``;
this app never imports payments.
"""

from django.conf import settings
from django.db import models

from postings.models import Posting


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

    OPEN = {Status.SUBMITTED, Status.SHORTLISTED, Status.OFFERED}
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
    cv = models.FileField(upload_to="private/cv/%Y/%m/", blank=True)
    rejection_message = models.TextField(max_length=2000, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    # When the employer first answered (shortlist, offer or reject): the response rate uses it.
    employer_responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["funding_due_at"],
                condition=models.Q(status="awaiting_funding"),
                name="assignment_funding_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.posting} · {self.student}"

    @property
    def is_paid(self) -> bool:
        return self.amount > 0


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

    def __str__(self) -> str:
        return f"{self.title} ({self.assignment})"


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
