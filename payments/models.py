"""Money: fundings, payouts, refunds, the double-entry ledger, and what the provider told us.

Separate charges and transfers (Stripe Connect): the employer funds the whole assignment (the
milestones plus the platform fee) through a Checkout Session on the platform account; each approved
milestone becomes one Payout, a Transfer to the student's connected account with the funding's
charge as ``source_transaction``. Cancellations and disputes give back what was not released
through Refunds. Every movement is booked in the ledger as a transaction that sums to zero.

All amounts are integer minor units of ``currency`` (ISO 4217). Every provider id we store is
unique, and every provider write carries an idempotency key built from our ids.
"""

from django.conf import settings
from django.db import models

from accounts.models import Employer
from applications.models import Assignment, Milestone


class PayoutAccount(models.Model):
    """A student's connected account (Stripe Express), onboarded on the provider's pages.

    Readiness comes from the provider (the ``account.updated`` webhook, re-fetched): transfers
    capability active and payouts enabled. A payout due while the account is not ready waits.
    """

    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding not finished"
        READY = "ready", "Ready to receive payouts"
        RESTRICTED = "restricted", "Restricted by the provider"

    TRANSITIONS: dict[str, set[str]] = {
        Status.ONBOARDING: {Status.READY, Status.RESTRICTED},
        Status.READY: {Status.RESTRICTED},
        Status.RESTRICTED: {Status.READY},
    }

    student = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_account"
    )
    provider = models.CharField(max_length=20)
    account_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ONBOARDING)
    transfers_active = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    ready_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account_id} ({self.get_status_display()})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY


class Funding(models.Model):
    """The employer's payment for one assignment: the milestones plus the platform fee.

    It counts as paid only when the provider's signed event says so (re-fetched); the checkout
    return page only shows the state.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for payment"
        PROCESSING = "processing", "Payment processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"

    TRANSITIONS: dict[str, set[str]] = {
        Status.OPEN: {Status.PROCESSING, Status.PAID, Status.FAILED},
        Status.PROCESSING: {Status.PAID, Status.FAILED},
        Status.FAILED: {Status.OPEN, Status.PROCESSING, Status.PAID},
        Status.PAID: set(),
    }

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="funding")
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="fundings")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    provider = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3)
    # The milestones' total (what the student can earn), the platform fee, and what is charged.
    amount = models.BigIntegerField()
    fee_percent = models.PositiveSmallIntegerField()
    fee_amount = models.BigIntegerField()
    total_amount = models.BigIntegerField()
    # Each new Checkout Session (after one expired or failed) is a new attempt with its own key.
    checkout_attempt = models.PositiveIntegerField(default=0)
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # Stripe's hosted page, or the test provider's local page (a path).
    checkout_url = models.CharField(max_length=2000, blank=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    # Every session ever opened for this funding, oldest first: once one is paid, the others
    # are expired so that nobody can pay twice.
    checkout_sessions = models.JSONField(default=list, blank=True)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The charge every transfer of this assignment uses as its source_transaction.
    charge_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The charge's balance transaction: Stripe's processing fee on it (``stripe_fee``, in
    # ``currency``) is booked to its own ledger account. Null until read.
    balance_transaction_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_fee = models.BigIntegerField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total_amount=models.F("amount") + models.F("fee_amount")),
                name="funding_total_is_amount_plus_fee",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, fee_amount__gte=0), name="funding_amounts_valid"
            ),
        ]
        indexes = [models.Index(fields=["employer", "-created_at"], name="funding_employer")]

    def __str__(self) -> str:
        return f"Funding #{self.pk} of assignment #{self.assignment_id}"

    @property
    def transfer_group(self) -> str:
        return f"assignment_{self.assignment_id}"

    @property
    def checkout_idempotency_key(self) -> str:
        return (
            f"{settings.PAYMENTS_IDEMPOTENCY_NAMESPACE}:funding:{self.pk}"
            f":checkout:{self.checkout_attempt}"
        )


class _Attempted(models.Model):
    """What payouts and refunds share: a provider call made in three steps.

    1. lock the row, mark it ``processing`` (``processing_since``), commit;
    2. call the provider with the attempt's idempotency key (built from our ids);
    3. lock the row again and record the result.
    A crash between 2 and 3 leaves the row ``processing``: once the lease has run out, the sweep
    runs it again, and that attempt first looks for what the earlier one did at the provider.
    """

    attempts = models.PositiveSmallIntegerField(default=0)
    # Every attempt ever made (a staff retry starts ``attempts`` again, not this): it numbers
    # the idempotency keys, since the provider replays a used key's first answer.
    attempt_serial = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processing_since = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Payout(_Attempted):
    """One payout per milestone (unique): a transfer to the student's connected account."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed: waiting for review"
        # The whole transfer was taken back from the student's account (a transfer reversal).
        REVERSED = "reversed", "Reversed"

    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING: {Status.PROCESSING},
        # Back to pending after a transient error (retried later), failed after the last retry.
        Status.PROCESSING: {Status.PAID, Status.PENDING, Status.FAILED},
        # Staff retry a failed payout from the admin.
        Status.FAILED: {Status.PENDING},
        # Only Stripe moves a paid payout: a reversal of the whole transfer (a partial one
        # leaves it paid, with ``amount_reversed``).
        Status.PAID: {Status.REVERSED},
        Status.REVERSED: set(),
    }

    milestone = models.OneToOneField(Milestone, on_delete=models.PROTECT, related_name="payout")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="payouts")
    funding = models.ForeignKey(Funding, on_delete=models.PROTECT, related_name="payouts")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # Due, but the student's payout account is not ready: released when it becomes ready.
    waiting_for_account = models.BooleanField(default=False)
    # Why a due payout is held back (a chargeback on the funding is open); empty when it is not.
    hold_reason = models.CharField(max_length=200, blank=True)
    transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # Of ``amount``, what transfer reversals took back from the student (Stripe's
    # ``amount_reversed``); the student keeps ``amount - amount_reversed``.
    amount_reversed = models.BigIntegerField(default=0)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_amount_gt_0"),
            models.CheckConstraint(
                condition=models.Q(amount_reversed__gte=0, amount_reversed__lte=models.F("amount")),
                name="payout_amount_reversed_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending", waiting_for_account=False),
                name="payout_due",
            ),
            models.Index(
                fields=["processing_since"],
                condition=models.Q(status="processing"),
                name="payout_processing",
            ),
            models.Index(fields=["student", "-created_at"], name="payout_student"),
        ]

    def __str__(self) -> str:
        return f"Payout #{self.pk} for milestone #{self.milestone_id}"

    @property
    def idempotency_key(self) -> str:
        """The key of the current attempt. Stripe replays a key's first answer for 24 hours,
        errors included, so each attempt has its own key (and looks for an earlier transfer
        before creating one)."""
        return f"{settings.PAYMENTS_IDEMPOTENCY_NAMESPACE}:payout:{self.pk}:{self.attempt_serial}"


class Refund(_Attempted):
    """Money given back to the employer: what was not released when an assignment is cancelled,
    the employer's part of a resolved dispute, or a payment that arrived too late."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        # Stripe accepted it but answered ``pending`` or ``requires_action``: not refunded yet.
        SUBMITTED = "submitted", "Sent: waiting for the bank"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed: waiting for review"

    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING: {Status.PROCESSING},
        Status.PROCESSING: {Status.SUCCEEDED, Status.SUBMITTED, Status.PENDING, Status.FAILED},
        # Moved only by what Stripe says (``refund.updated``/``refund.failed``, or a re-fetch).
        Status.SUBMITTED: {Status.SUCCEEDED, Status.FAILED},
        Status.FAILED: {Status.PENDING},
        # A card refund can still fail after it succeeded (the card was closed): Stripe puts the
        # money back on the platform balance and the booking is reversed.
        Status.SUCCEEDED: {Status.FAILED},
    }

    class Reason(models.TextChoices):
        CANCELLATION = "cancellation", "Assignment cancelled"
        DISPUTE = "dispute", "Dispute resolved"
        LATE_PAYMENT = "late_payment", "Paid after cancellation"

    # Deterministic from our ids ("assignment:5:cancel", "dispute:7"): one refund per cause.
    key = models.CharField(max_length=100, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    funding = models.ForeignKey(Funding, on_delete=models.PROTECT, related_name="refunds")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="refunds")
    # ``amount`` is what goes back, of which ``fee_amount`` is platform fee given back.
    amount = models.BigIntegerField()
    fee_amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    milestone_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # Stripe's own word for the refund (pending, requires_action, succeeded, failed, canceled)
    # and, when it failed, why (``failure_reason``).
    provider_status = models.CharField(max_length=30, blank=True)
    failure_reason = models.CharField(max_length=100, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    amount__gt=0, fee_amount__gte=0, fee_amount__lte=models.F("amount")
                ),
                name="refund_amounts_valid",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="refund_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Refund #{self.pk} ({self.key})"

    @property
    def idempotency_key(self) -> str:
        """The key of the current attempt: like a payout's, one per attempt (Stripe replays a
        key's first answer, errors included), and a later attempt looks for an earlier refund."""
        return f"{settings.PAYMENTS_IDEMPOTENCY_NAMESPACE}:refund:{self.pk}:{self.attempt_serial}"


class LedgerEntry(models.Model):
    """One line of a double-entry transaction. The lines of a transaction sum to zero.

    Sign convention: money flows out of the employer (``employer_funding`` negative) into the
    platform's buckets: ``held`` (owed to nobody yet), ``student_payable`` (approved, transfer
    under way), ``student_paid`` (transferred), ``platform_fee`` and ``refunds`` (given back).
    """

    class Account(models.TextChoices):
        EMPLOYER_FUNDING = "employer_funding", "Employer funding"
        HELD = "held", "Held for the assignment"
        PLATFORM_FEE = "platform_fee", "Platform fee"
        STUDENT_PAYABLE = "student_payable", "Payable to the student"
        STUDENT_PAID = "student_paid", "Paid to the student"
        REFUNDS = "refunds", "Refunded to the employer"
        # Stripe's processing fees, paid out of the platform fee (which is then net revenue).
        STRIPE_FEES = "stripe_fees", "Stripe fees"
        # Chargebacks: what the employer's bank took back, Stripe's dispute fees, and the
        # platform's own money covering both until the dispute closes (or for good if lost).
        CHARGEBACKS = "chargebacks", "Taken back by the card's bank"
        DISPUTE_FEES = "dispute_fees", "Dispute fees"
        PLATFORM_LOSSES = "platform_losses", "Covered by the platform"

    # "funding:3", "payout:7:due", "payout:7:paid", "refund:2": one booking per movement.
    transaction_id = models.CharField(max_length=64, db_index=True)
    account = models.CharField(max_length=20, choices=Account.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    assignment = models.ForeignKey(
        Assignment, on_delete=models.PROTECT, related_name="ledger_entries", null=True
    )
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["transaction_id", "account"], name="ledger_one_line_per_account"
            )
        ]
        indexes = [models.Index(fields=["assignment", "account"], name="ledger_assignment")]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.account} {self.amount:+d} {self.currency}"


class WebhookEvent(models.Model):
    """An event from the provider, stored once (unique event id) and handled by a task.

    The handler re-fetches the object the event names before acting, so the order of events and
    a stale payload never matter.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    # The connected account for Connect events, blank for the platform's own.
    account = models.CharField(max_length=255, blank=True)
    object_id = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    note = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(status="received"),
                name="webhook_unprocessed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class ReconciliationIssue(models.Model):
    """A difference between our records and the provider's, or a payment we could not accept.

    Staff see these in the money view and the admin; each is raised once (unique key).
    """

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=50)
    description = models.TextField()
    assignment = models.ForeignKey(
        Assignment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.description[:60]}"


class TestModeObject(models.Model):
    """The test provider's own records (sessions, accounts, transfers, refunds), so that the
    web process and the worker see the same objects. Only the test provider uses this table."""

    __test__ = False  # not a pytest test class
    id = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=30, db_index=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class Chargeback(models.Model):
    """A card payment of a funding disputed with the employer's bank (a Stripe dispute).

    Stripe's own status is kept verbatim (``stripe_status``); ours says what it means for us:
    open (payouts of the funding wait), won (money kept: payouts resume) or lost (the money is
    gone: what the assignment still held covers it; its payouts wait until staff decide: cancel
    the assignment, or have the platform pay them, ``payouts_released_at``).
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open: payouts wait"
        WON = "won", "Closed: money kept"
        LOST = "lost", "Closed: money lost"

    TRANSITIONS: dict[str, set[str]] = {
        Status.OPEN: {Status.WON, Status.LOST},
        Status.WON: set(),
        Status.LOST: set(),
    }

    funding = models.ForeignKey(Funding, on_delete=models.PROTECT, related_name="chargebacks")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="chargebacks")
    dispute_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=50, blank=True)
    stripe_status = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    # When lost: what the assignment's held money and the platform fee covered (the ledger
    # check counts them as gone from the assignment).
    held_used = models.BigIntegerField(default=0)
    fee_used = models.BigIntegerField(default=0)
    # When lost, staff may have the platform pay the assignment's payouts itself (admin action):
    # from then on they go, the platform putting in what the assignment no longer holds.
    payouts_released_at = models.DateTimeField(null=True, blank=True)
    platform_covered = models.BigIntegerField(default=0, db_default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["funding"], condition=models.Q(status="open"), name="chargeback_open"
            )
        ]

    def __str__(self) -> str:
        return f"Chargeback {self.dispute_id} on funding #{self.funding_id}"
