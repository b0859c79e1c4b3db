"""Refunds: cancelled assignments, settled disputes and late payments, sent back once."""

from __future__ import annotations

import logging

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
from ..providers.base import PaymentError, ProviderUnavailable
from .attempts import CLAIM, Account, _attempts_restart, _backoff, _to_processing
from .ledger import ledger_post
from .payouts import payout_create
from .reconciliation import issue_raise

logger = logging.getLogger(__name__)


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
        next_attempt_at=timezone.now() + CLAIM,
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
        already = set()
        for ids in Refund.objects.filter(funding=funding).values_list("milestone_ids", flat=True):
            already.update(ids)
        milestones = [
            m
            for m in assignment.milestones.filter(
                status__in=[
                    Milestone.Status.OPEN,
                    Milestone.Status.SUBMITTED,
                    Milestone.Status.REVISION_REQUESTED,
                ],
                amount__gt=0,
            ).exclude(Exists(Payout.objects.filter(milestone=OuterRef("pk"))))
            if m.pk not in already
        ]
        amount = sum(m.amount for m in milestones)
        shares = selectors.funding_fee_shares(funding=funding)
        fee = sum(shares.get(m.pk, 0) for m in milestones)
        return _refund_create(
            funding=funding,
            key=f"assignment:{assignment.pk}:cancel",
            reason=Refund.Reason.CANCELLATION,
            amount=amount + fee,
            fee_amount=fee,
            milestone_ids=[m.pk for m in milestones],
        )


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
    student_amount = {
        Dispute.Resolution.RELEASE: milestone.amount,
        Dispute.Resolution.REFUND: 0,
    }.get(dispute.resolution, dispute.student_amount)
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
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("funding").get(pk=refund_id)
        if refund.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED):
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
        refund.first_attempt_at = refund.first_attempt_at or now
        refund.save(
            update_fields=[
                "status",
                "processing_since",
                "attempts",
                "first_attempt_at",
                "updated_at",
            ]
        )
        funding = refund.funding
    try:
        result = get_provider().refund_create(
            payment_intent_id=funding.payment_intent_id or "",
            amount=refund.amount,
            currency=refund.currency,
            metadata={"refund_id": str(refund.pk), "assignment_id": str(refund.assignment_id)},
            idempotency_key=refund.idempotency_key,
        )
    except PaymentError as exc:
        transient = isinstance(exc, ProviderUnavailable)
        with transaction.atomic():
            refund = Refund.objects.select_for_update().get(pk=refund_id)
            if refund.status != Refund.Status.PROCESSING:
                return refund
            refund.last_error = (exc.detail or exc.message)[:2000]
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
    return refund_record(
        refund_id=refund.pk, refund_object_id=result.id, amount=result.amount, status=result.status
    )


def refund_record(*, refund_id: int, refund_object_id: str, amount: int, status: str) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("funding").get(pk=refund_id)
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        if amount != refund.amount or status in ("failed", "canceled"):
            issue_raise(
                key=f"refund:{refund_object_id}:{status}",
                kind="refund_mismatch",
                description=f"Provider refund {refund_object_id} for refund #{refund.pk} is "
                f"{status} with {amount} minor units (expected {refund.amount}).",
                assignment=refund.funding.assignment,
            )
            return refund
        _to_processing(refund)
        status_move(refund, Refund.Status.SUCCEEDED, "refund")
        refund.refund_id = refund_object_id
        refund.succeeded_at = timezone.now()
        refund.processing_since = None
        refund.next_attempt_at = None
        refund.last_error = ""
        refund.save(
            update_fields=[
                "status",
                "refund_id",
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
            memo=f"Refund {refund_object_id} ({refund.get_reason_display()})",
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
    return refund


def refund_sync(*, refund_object_id: str) -> str:
    result = get_provider().refund_retrieve(refund_object_id)
    refund_id = result.metadata.get("refund_id", "")
    if not refund_id.isdigit() or not Refund.objects.filter(pk=refund_id).exists():
        return f"no refund of ours for {result.id}"
    if result.status == "succeeded":
        refund_record(
            refund_id=int(refund_id),
            refund_object_id=result.id,
            amount=result.amount,
            status=result.status,
        )
    return f"refund #{refund_id} is {result.status}"


def refund_retry(*, refund: Refund, actor) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        _attempts_restart(refund, refused="Only a failed refund can be retried.", actor=actor)
        from ..tasks import execute_refund

        execute_refund.delay_on_commit(refund.pk)
    return refund
