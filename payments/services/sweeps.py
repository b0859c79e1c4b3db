"""The beat sweep: whatever is due, picked with SKIP LOCKED."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from applications.models import Assignment, Dispute, Milestone

from ..models import Funding, Payout, Refund, WebhookEvent
from .attempts import claim_window
from .fulfilment import fundings_due_for_check
from .payouts import payout_create
from .refunds import assignment_refund_unreleased, dispute_settle


@dataclass
class SweepResult:
    payouts_created: int = 0
    payouts_enqueued: int = 0
    refunds_created: int = 0
    refunds_enqueued: int = 0
    disputes_settled: int = 0
    events_enqueued: int = 0
    fundings_checked: int = 0
    fees_enqueued: int = 0


def payments_sweep(*, now: datetime | None = None) -> SweepResult:
    """The beat sweep (every minute): whatever is due, picked with SKIP LOCKED.

    Approved milestones without a payout, payouts and refunds whose next attempt is due (or
    whose worker died mid-call), resolved disputes and cancelled assignments not settled yet, and
    events not handled yet, fundings near their deadline whose payment may have gone unheard.
    Each query reads only what is due through a partial index.
    """
    now = now or timezone.now()
    batch = settings.PAYMENTS_SWEEP_BATCH
    lease = settings.PAYOUT_PROCESSING_LEASE
    # Settlements that a lost signal left undone (recent ones: older ones were settled).
    recent = now - timedelta(days=30)
    return SweepResult(
        payouts_created=_payouts_create_missing(batch=batch),
        payouts_enqueued=_payouts_enqueue_due(now=now, batch=batch, lease=lease),
        refunds_enqueued=_refunds_enqueue_due(now=now, batch=batch, lease=lease),
        disputes_settled=_disputes_settle_missing(since=recent, batch=batch),
        refunds_created=_cancellations_refund_missing(since=recent, batch=batch),
        fundings_checked=_fundings_check_due(now=now),
        fees_enqueued=_fees_due(now=now, batch=batch),
        events_enqueued=_events_enqueue_stale(now=now, batch=batch),
    )


def _payouts_create_missing(*, batch: int) -> int:
    """Approved milestones of paid fundings without a payout."""
    created = 0
    with transaction.atomic():
        approved = list(
            Milestone.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=Milestone.Status.APPROVED,
                amount__gt=0,
                assignment__funding__status=Funding.Status.PAID,
            )
            .exclude(Exists(Payout.objects.filter(milestone=OuterRef("pk"))))
            .order_by("approved_at", "pk")[:batch]
        )
        for milestone in approved:
            if payout_create(milestone=milestone):
                created += 1
    return created


def _payouts_enqueue_due(*, now: datetime, batch: int, lease: timedelta) -> int:
    """Payouts whose next attempt is due, or whose worker died mid-call."""
    from ..tasks import release_payout

    with transaction.atomic():
        due = list(
            Payout.objects.select_for_update(skip_locked=True)
            .filter(
                status=Payout.Status.PENDING,
                waiting_for_account=False,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at")[:batch]
        )
        stuck = list(
            Payout.objects.select_for_update(skip_locked=True)
            .filter(status=Payout.Status.PROCESSING, processing_since__lt=now - lease)
            .order_by("processing_since")[:batch]
        )
        # Claimed for two minutes: a lost message is enqueued again by a later sweep.
        Payout.objects.filter(pk__in=[p.pk for p in due]).update(
            next_attempt_at=now + claim_window()
        )
        for payout in due + stuck:
            release_payout.delay_on_commit(payout.pk)
    return len(due) + len(stuck)


def _refunds_enqueue_due(*, now: datetime, batch: int, lease: timedelta) -> int:
    """Refunds whose next attempt is due, or whose worker died mid-call."""
    from ..tasks import execute_refund

    with transaction.atomic():
        refunds = list(
            Refund.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[Refund.Status.PENDING, Refund.Status.SUBMITTED],
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at")[:batch]
        ) + list(
            Refund.objects.select_for_update(skip_locked=True)
            .filter(status=Refund.Status.PROCESSING, processing_since__lt=now - lease)
            .order_by("processing_since")[:batch]
        )
        Refund.objects.filter(
            pk__in=[r.pk for r in refunds],
            status__in=[Refund.Status.PENDING, Refund.Status.SUBMITTED],
        ).update(next_attempt_at=now + claim_window())
        for refund in refunds:
            execute_refund.delay_on_commit(refund.pk)
    return len(refunds)


def _disputes_settle_missing(*, since: datetime, batch: int) -> int:
    """Resolved disputes of paid fundings with neither a payout nor a refund yet."""
    disputes = (
        Dispute.objects.filter(
            resolved_at__gte=since,
            milestone__assignment__funding__status=Funding.Status.PAID,
        )
        .exclude(resolution="")
        .exclude(Exists(Payout.objects.filter(milestone=OuterRef("milestone"))))
        .exclude(Exists(Refund.objects.filter(key=_dispute_key_expression())))
        .select_related("milestone")[:batch]
    )
    settled = 0
    for dispute in disputes:
        settled_payout, settled_refund = dispute_settle(dispute=dispute)
        if settled_payout or settled_refund:
            settled += 1
    return settled


def _cancellations_refund_missing(*, since: datetime, batch: int) -> int:
    """Cancelled assignments of paid fundings whose unreleased money was not refunded yet."""
    cancelled = (
        Assignment.objects.filter(
            status=Assignment.Status.CANCELLED,
            cancelled_at__gte=since,
            funding__status=Funding.Status.PAID,
        )
        .exclude(
            Exists(
                Refund.objects.filter(
                    assignment=OuterRef("pk"),
                    reason__in=[Refund.Reason.CANCELLATION, Refund.Reason.LATE_PAYMENT],
                )
            )
        )
        .order_by("cancelled_at")[:batch]
    )
    return sum(1 for assignment in cancelled if assignment_refund_unreleased(assignment=assignment))


def _fundings_check_due(*, now: datetime) -> int:
    """Checkout Sessions of fundings near their deadline, in case every event was lost."""
    from ..tasks import check_funding_sessions

    checks = fundings_due_for_check(now=now)
    for funding_id in checks:
        check_funding_sessions.delay_on_commit(funding_id)
    return len(checks)


def _events_enqueue_stale(*, now: datetime, batch: int) -> int:
    """Webhook events received but not handled within two minutes."""
    from ..tasks import handle_webhook_event

    stale = list(
        WebhookEvent.objects.filter(
            status=WebhookEvent.Status.RECEIVED, received_at__lt=now - timedelta(minutes=2)
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:batch]
    )
    for event_pk in stale:
        handle_webhook_event.delay_on_commit(event_pk)
    return len(stale)


def _fees_due(*, now: datetime, batch: int) -> int:
    """Paid fundings whose balance transaction (Stripe's fee) was not read yet."""
    from ..tasks import record_stripe_fee

    due = list(
        Funding.objects.filter(
            status=Funding.Status.PAID,
            balance_transaction_id=None,
            paid_at__lt=now - claim_window(),
        )
        .exclude(charge_id=None)
        .order_by("paid_at")
        .values_list("pk", flat=True)[:batch]
    )
    for funding_id in due:
        record_stripe_fee.delay_on_commit(funding_id)
    return len(due)


def _dispute_key_expression():
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    return Concat(Value("dispute:"), Cast(OuterRef("pk"), output_field=CharField()))
