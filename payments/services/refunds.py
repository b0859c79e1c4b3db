"""Refunds: cancelled assignments, settled disputes and late payments, sent back once."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from applications.models import Assignment, Dispute, Milestone
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, status_move
from marketplace.core.money import allocate, format_money
from notifications.services import notify

from .. import selectors
from ..models import Funding, Payout, Refund
from ..providers import get_provider
from ..providers.base import PaymentError, ProviderUnavailable, RefundResult
from .attempts import Account, _attempts_restart, _backoff, _to_processing, claim_window
from .ledger import assignment_refundable, ledger_post
from .payouts import payout_create
from .reconciliation import issue_raise

logger = logging.getLogger(__name__)
# A refund Stripe left pending is fetched again this often, in case its webhook is lost.
SUBMITTED_RECHECK = timedelta(hours=6)


def _refund_create(
    *,
    funding: Funding,
    key: str,
    reason: str,
    amount: int,
    fee_amount: int,
    milestone_ids: list[int],
) -> Refund | None:
    """Inside the caller's transaction, with the funding locked."""
    existing = Refund.objects.filter(key=key).first()
    if existing is not None or amount <= 0:
        return existing
    refund = Refund.objects.create(
        key=key,
        reason=reason,
        funding=funding,
        assignment_id=funding.assignment_id,
        amount=amount,
        fee_amount=fee_amount,
        currency=funding.currency,
        milestone_ids=milestone_ids,
        next_attempt_at=timezone.now() + claim_window(),
    )
    audit(action="refund.created", target=refund, amount=amount, reason=reason)
    from ..tasks import execute_refund

    execute_refund.delay_on_commit(refund.pk)
    return refund


def assignment_refund_unreleased(*, assignment: Assignment, actor=None) -> Refund | None:
    """A cancelled assignment: give back the milestones nobody approved, with their fee share.

    Approved milestones are still paid to the student; disputed ones wait for staff. Once per
    assignment (the refund's key), so a second call or a second signal changes nothing.
    """
    with transaction.atomic():
        funding = Funding.objects.select_for_update().filter(assignment=assignment).first()
        assignment = Assignment.objects.get(pk=assignment.pk)
        if assignment.status != Assignment.Status.CANCELLED:
            raise InvalidTransition("Only a cancelled assignment is refunded.")
        if funding is None:
            return None
        if funding.status != Funding.Status.PAID:
            session_id = funding.checkout_session_id
            if session_id and funding.status == Funding.Status.OPEN:
                transaction.on_commit(lambda: _expire_quietly(session_id))
            return None
        return cancelled_assignment_refund(
            funding=funding, assignment=assignment, reason=Refund.Reason.CANCELLATION
        )


def cancelled_assignment_refund(
    *, funding: Funding, assignment: Assignment, reason: str
) -> Refund | None:
    """The one refund of a cancelled assignment (funding locked by the caller), whichever cause
    comes first: the cancellation, its sweep, or a payment that cleared after the deadline.

    The amount comes from the ledger (``assignment_refundable``: held, less released, less
    refunded or under way), less what approved or disputed milestones are still owed, and is
    at most the unreleased milestones with their fee share.
    """
    existing = Refund.objects.filter(key=f"assignment:{assignment.pk}:cancel").first()
    if existing is not None:
        return existing
    held, fee_left = assignment_refundable(assignment_id=assignment.pk)
    milestones = list(
        assignment.milestones.filter(amount__gt=0).exclude(
            Exists(Payout.objects.filter(milestone=OuterRef("pk")))
        )
    )
    unreleased = [m for m in milestones if m.status in _UNRELEASED]
    owed = sum(m.amount for m in milestones if m.status in _OWED)
    shares = selectors.funding_fee_shares(funding=funding)
    amount = max(0, min(sum(m.amount for m in unreleased), held - owed))
    fee = max(0, min(sum(shares.get(m.pk, 0) for m in unreleased), fee_left))
    return _refund_create(
        funding=funding,
        key=f"assignment:{assignment.pk}:cancel",
        reason=reason,
        amount=amount + fee,
        fee_amount=fee,
        milestone_ids=[m.pk for m in unreleased],
    )


# Milestones of a cancelled assignment whose money goes back, and those still to be paid out.
_UNRELEASED = (
    Milestone.Status.OPEN,
    Milestone.Status.SUBMITTED,
    Milestone.Status.REVISION_REQUESTED,
)
_OWED = (Milestone.Status.APPROVED, Milestone.Status.DISPUTED)


def _expire_quietly(session_id: str) -> None:
    try:
        get_provider().checkout_expire(session_id)
    except PaymentError:
        logger.warning("Could not expire checkout session %s", session_id, exc_info=True)


def dispute_settle(*, dispute: Dispute, actor=None) -> tuple[Payout | None, Refund | None]:
    """Carry out a resolved dispute: the student's part paid out, the rest refunded."""
    dispute = Dispute.objects.select_related("milestone").get(pk=dispute.pk)
    if dispute.resolved_at is None or not dispute.resolution:
        raise InvalidTransition("This dispute is not resolved yet.")
    milestone = dispute.milestone
    fixed: dict[str, int] = {
        Dispute.Resolution.RELEASE: milestone.amount,
        Dispute.Resolution.REFUND: 0,
    }
    student_amount = fixed.get(dispute.resolution, dispute.student_amount)
    if student_amount is None or not 0 <= student_amount <= milestone.amount:
        raise DomainError(
            "The student's part must be between 0 and the milestone's amount.",
            code="split_amount",
        )
    with transaction.atomic():
        funding = (
            Funding.objects.select_for_update()
            .filter(assignment_id=milestone.assignment_id)
            .first()
        )
        if funding is None or funding.status != Funding.Status.PAID:
            return None, None
        payout = payout_create(milestone=milestone, amount=student_amount, actor=actor)
        rest = milestone.amount - student_amount
        # The milestone's share of the fee, split like the milestone: the student's part keeps
        # its fee, the rest's fee goes back.
        share = selectors.funding_fee_shares(funding=funding).get(milestone.pk, 0)
        _fee_kept, fee_back = allocate(share, [student_amount, rest])
        refund = None
        if rest > 0:
            refund = _refund_create(
                funding=funding,
                key=f"dispute:{dispute.pk}",
                reason=Refund.Reason.DISPUTE,
                amount=rest + fee_back,
                fee_amount=fee_back,
                milestone_ids=[milestone.pk],
            )
        audit(action="dispute.settled", target=dispute, actor=actor, student_amount=student_amount)
    return payout, refund


def refund_execute(*, refund_id: int) -> Refund:
    """Send a refund through the provider (same three steps as a payout)."""
    now = timezone.now()
    sent = Refund.objects.filter(pk=refund_id, status=Refund.Status.SUBMITTED)
    if refund_object_id := sent.values_list("refund_id", flat=True).first():
        # Sent already and waiting for the bank: only Stripe moves it (the webhook was lost).
        refund_sync(refund_object_id=refund_object_id)
        return Refund.objects.get(pk=refund_id)
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("funding").get(pk=refund_id)
        if refund.status not in (Refund.Status.PENDING, Refund.Status.PROCESSING):
            return refund
        if (
            refund.status == Refund.Status.PROCESSING
            and refund.processing_since
            and refund.processing_since > now - settings.PAYOUT_PROCESSING_LEASE
        ):
            return refund
        if refund.status == Refund.Status.PENDING:
            status_move(refund, Refund.Status.PROCESSING, "refund")
        refund.processing_since = now
        refund.attempts += 1
        refund.attempt_serial += 1
        refund.first_attempt_at = refund.first_attempt_at or now
        refund.save(
            update_fields=[
                "status",
                "processing_since",
                "attempts",
                "attempt_serial",
                "first_attempt_at",
                "updated_at",
            ]
        )
        funding = refund.funding
    try:
        # Each attempt has its own key (a used key replays its first answer, a 500 included);
        # a later one first looks for the refund an earlier one may have made.
        result = _find_refund(refund, funding) if refund.attempt_serial > 1 else None
        if result is None:
            result = get_provider().refund_create(
                payment_intent_id=funding.payment_intent_id or "",
                amount=refund.amount,
                currency=refund.currency,
                metadata={
                    "refund_id": str(refund.pk),
                    "assignment_id": str(refund.assignment_id),
                },
                idempotency_key=refund.idempotency_key,
            )
    except PaymentError as exc:
        return _refund_attempt_failed(refund_id=refund_id, error=exc)
    return refund_record(refund_id=refund.pk, result=result, answer=True)


def _find_refund(refund: Refund, funding: Funding) -> RefundResult | None:
    """The refund an earlier attempt made on the payment (its answer lost, or the worker killed
    after the call). A failed or cancelled one gave the money back: the retry makes a new one."""
    for found in get_provider().refunds_list(payment_intent_id=funding.payment_intent_id or ""):
        if found.metadata.get("refund_id") == str(refund.pk) and found.status not in _FAILED:
            return found
    return None


def _refund_attempt_failed(*, refund_id: int, error: PaymentError) -> Refund:
    transient = isinstance(error, ProviderUnavailable)
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != Refund.Status.PROCESSING:
            return refund
        refund.last_error = (error.detail or error.message)[:2000]
        refund.processing_since = None
        if transient and refund.attempts < settings.PAYOUT_MAX_RETRIES:
            status_move(refund, Refund.Status.PENDING, "refund")
            refund.next_attempt_at = timezone.now() + _backoff(refund.attempts)
        else:
            status_move(refund, Refund.Status.FAILED, "refund")
            refund.failed_at = timezone.now()
            refund.next_attempt_at = None
            issue_raise(
                key=f"refund:{refund.pk}:failed:{refund.attempts}",
                kind="refund_failed",
                description=f"Refund #{refund.pk} failed: {refund.last_error}",
                assignment=refund.assignment,
            )
        refund.save(
            update_fields=[
                "status",
                "last_error",
                "processing_since",
                "next_attempt_at",
                "failed_at",
                "updated_at",
            ]
        )
        audit(action=f"refund.{refund.status}", target=refund)
    return refund


# Stripe's refund statuses: where each leaves our refund.
_WAITING = ("pending", "requires_action")
_FAILED = ("failed", "canceled")


def refund_record(*, refund_id: int, result: RefundResult, answer: bool = False) -> Refund:
    """Record what Stripe says about a refund: the current attempt's own ``answer`` (the create
    call's, or the refund it found), or a re-fetch after an event or the sweep's re-check.

    Only ``succeeded`` books the refund and tells the employer. ``pending``/``requires_action``
    leave it waiting for the bank (no booking, no message, re-checked later); ``failed`` and
    ``canceled`` fail it and raise an issue for staff, also after it had succeeded.

    While an attempt is under way (pending, processing) the row follows no Stripe refund yet, or
    still names one Stripe failed before staff retried it: a re-fetched failure then is about
    an earlier refund (its money is back, the attempt makes or finds another) and changes
    nothing; any other re-fetched refund of ours becomes the one the row follows.
    """
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("funding").get(pk=refund_id)
        attempting = refund.status in (Refund.Status.PENDING, Refund.Status.PROCESSING)
        if attempting and not answer and result.status in _FAILED:
            audit(action="refund.earlier_failure_ignored", target=refund, provider_refund=result.id)
            return refund
        followed = None if attempting else refund.refund_id
        if result.amount != refund.amount or (followed and followed != result.id):
            issue_raise(
                key=f"refund:{result.id}:mismatch",
                kind="refund_mismatch",
                description=f"Provider refund {result.id} for refund #{refund.pk} is "
                f"{result.status} with {result.amount} minor units (expected {refund.amount}"
                f"{f' as {refund.refund_id}' if refund.refund_id else ''}). Nothing was booked.",
                assignment=refund.funding.assignment,
            )
            return refund
        if result.status in _FAILED:
            _refund_failed(refund, result)
        elif result.status in _WAITING:
            _refund_submitted(refund, result)
        elif result.status == "succeeded":
            _refund_succeeded(refund, result)
    return refund


def _refund_submitted(refund: Refund, result: RefundResult) -> None:
    if refund.status not in (Refund.Status.PENDING, Refund.Status.PROCESSING):
        if refund.provider_status != result.status:
            refund.provider_status = result.status
            refund.save(update_fields=["provider_status", "updated_at"])
        return
    _to_processing(refund)
    status_move(refund, Refund.Status.SUBMITTED, "refund")
    refund.refund_id = result.id
    refund.provider_status = result.status
    refund.processing_since = None
    # Re-checked by the sweep in case the webhook that moves it never arrives.
    refund.next_attempt_at = timezone.now() + SUBMITTED_RECHECK
    refund.last_error = ""
    refund.save(
        update_fields=[
            "status",
            "refund_id",
            "provider_status",
            "processing_since",
            "next_attempt_at",
            "last_error",
            "updated_at",
        ]
    )
    audit(action="refund.submitted", target=refund, provider_status=result.status)


def _refund_succeeded(refund: Refund, result: RefundResult) -> None:
    if refund.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED):
        return  # a stale answer: failed after success is only ever moved by ``failed``
    if refund.status != Refund.Status.SUBMITTED:
        _to_processing(refund)
    status_move(refund, Refund.Status.SUCCEEDED, "refund")
    refund.refund_id = result.id
    refund.provider_status = result.status
    refund.succeeded_at = timezone.now()
    refund.processing_since = None
    refund.next_attempt_at = None
    refund.last_error = ""
    refund.save(
        update_fields=[
            "status",
            "refund_id",
            "provider_status",
            "succeeded_at",
            "processing_since",
            "next_attempt_at",
            "last_error",
            "updated_at",
        ]
    )
    ledger_post(
        transaction_id=f"refund:{refund.pk}",
        assignment=refund.funding.assignment,
        currency=refund.currency,
        lines={
            Account.HELD: -(refund.amount - refund.fee_amount),
            Account.PLATFORM_FEE: -refund.fee_amount,
            Account.REFUNDS: refund.amount,
        },
        memo=f"Refund {result.id} ({refund.get_reason_display()})",
    )
    audit(action="refund.succeeded", target=refund, amount=refund.amount)
    if refund.funding.created_by_id:
        notify(
            recipient=refund.funding.created_by,
            kind="payments.refunded",
            title=f"Refund of {format_money(refund.amount, refund.currency)}",
            body=f"{refund.get_reason_display()}: the money goes back to your payment method.",
            link=reverse("payments:billing"),
            dedupe_key=f"refund:{refund.pk}:succeeded",
        )


def _refund_failed(refund: Refund, result: RefundResult) -> None:
    """Stripe failed or cancelled the refund: the money stays (or is back) on our balance."""
    if refund.status == Refund.Status.FAILED:
        return
    was_booked = refund.status == Refund.Status.SUCCEEDED
    if refund.status in (Refund.Status.PENDING, Refund.Status.PROCESSING):
        _to_processing(refund)
    status_move(refund, Refund.Status.FAILED, "refund")
    refund.refund_id = result.id
    refund.provider_status = result.status
    refund.failure_reason = result.failure_reason[:100]
    refund.failed_at = timezone.now()
    refund.processing_since = None
    refund.next_attempt_at = None
    refund.save(
        update_fields=[
            "status",
            "refund_id",
            "provider_status",
            "failure_reason",
            "failed_at",
            "processing_since",
            "next_attempt_at",
            "updated_at",
        ]
    )
    if was_booked:
        # Stripe returned the money to the platform balance: undo the refund's booking.
        ledger_post(
            transaction_id=f"refund:{refund.pk}:failed",
            assignment=refund.funding.assignment,
            currency=refund.currency,
            lines={
                Account.HELD: refund.amount - refund.fee_amount,
                Account.PLATFORM_FEE: refund.fee_amount,
                Account.REFUNDS: -refund.amount,
            },
            memo=f"Refund {result.id} failed after it succeeded",
        )
    audit(action="refund.failed", target=refund, reason=refund.failure_reason)
    reason = result.failure_reason or result.status
    issue_raise(
        key=f"refund:{refund.pk}:provider-failed:{result.id}",
        kind="refund_failed",
        description=f"Refund #{refund.pk} of {format_money(refund.amount, refund.currency)} "
        f"({refund.get_reason_display().lower()}) was {result.status} by the provider "
        f"({reason}). The money is back on the platform balance: reach the employer for "
        "another way to pay it back, then retry the refund or resolve this issue.",
        assignment=refund.funding.assignment,
    )


def refund_sync(*, refund_object_id: str) -> str:
    """A ``refund.*`` event (or the sweep's re-check): re-fetch the refund and record it."""
    result = get_provider().refund_retrieve(refund_object_id)
    refund_id = result.metadata.get("refund_id", "")
    if not refund_id.isdigit() or not Refund.objects.filter(pk=refund_id).exists():
        return f"no refund of ours for {result.id}"
    refund_record(refund_id=int(refund_id), result=result)
    return f"refund #{refund_id} is {result.status}"


def refund_retry(*, refund: Refund, actor) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        _attempts_restart(refund, refused="Only a failed refund can be retried.", actor=actor)
        from ..tasks import execute_refund

        execute_refund.delay_on_commit(refund.pk)
    return refund
