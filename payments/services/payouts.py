"""Payouts: a milestone's money transferred to the student's connected account, once."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from applications.models import Milestone
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, status_move
from marketplace.core.money import format_money
from notifications.services import notify, notify_many, reminder_schedule

from ..models import Funding, Payout, PayoutAccount
from ..providers import get_provider
from ..providers.base import PaymentError, Transfer
from .attempts import (
    Account,
    Outcome,
    _attempts_restart,
    _backoff,
    _staff,
    _to_processing,
    claim_window,
    error_outcome,
)
from .chargebacks import (
    LOST_HOLD_REASON,
    hold_reason_for,
    lost_chargeback,
    payout_fund_after_loss,
)
from .ledger import assignment_refundable, ledger_post, payout_due_post
from .payout_accounts import payout_account_sync
from .reconciliation import issue_raise

logger = logging.getLogger(__name__)


def payout_create(*, milestone: Milestone, amount: int | None = None, actor=None) -> Payout | None:
    """The one payout of a milestone (approved, or a dispute's release/split), once.

    Returns None when there is nothing to pay (amount 0) or the assignment is not funded yet
    (the sweep comes back once it is). After a lost chargeback took the money back, the payout
    is made and held for staff (``_payout_hold_after_loss``) rather than refused.
    """
    amount = milestone.amount if amount is None else int(amount)
    if amount <= 0:
        return None
    if amount > milestone.amount:
        raise DomainError("A payout cannot be more than the milestone's amount.", code="amount")
    with transaction.atomic():
        funding = (
            Funding.objects.select_for_update()
            .filter(assignment_id=milestone.assignment_id)
            .first()
        )
        if funding is None or funding.status != Funding.Status.PAID:
            return None
        existing = Payout.objects.filter(milestone=milestone).first()
        if existing is not None:
            return existing
        lost = lost_chargeback(funding_id=funding.pk)
        short = amount > assignment_refundable(assignment_id=milestone.assignment_id)[0]
        if short and lost is None:
            issue_raise(
                key=f"milestone:{milestone.pk}:not-held",
                kind="payout_exceeds_held",
                description=f"Milestone #{milestone.pk} is due {amount} minor units but the "
                "assignment does not hold that much any more; nothing was paid.",
                assignment=funding.assignment,
            )
            return None
        try:
            with transaction.atomic():
                payout = Payout.objects.create(
                    milestone=milestone,
                    assignment_id=milestone.assignment_id,
                    funding=funding,
                    student_id=funding.assignment.student_id,
                    amount=amount,
                    currency=funding.currency,
                    next_attempt_at=timezone.now() + claim_window(),
                )
        except IntegrityError:
            return Payout.objects.get(milestone=milestone)
        audit(action="payout.created", target=payout, actor=actor, amount=amount)
        if lost is not None and lost.payouts_released_at is not None:
            payout_fund_after_loss(chargeback=lost, payout=payout)
        elif short and lost is not None:
            _payout_hold_after_loss(payout, lost)
            return payout
        else:
            payout_due_post(payout)
        from ..tasks import release_payout

        release_payout.delay_on_commit(payout.pk)
    return payout


def _payout_hold_after_loss(payout: Payout, chargeback) -> None:
    """A milestone approved after a lost chargeback took its money back: the payout is made but
    waits, owed to nobody in the books yet, until staff decide (cancel the assignment, or have
    the platform pay it). Staff and the student are told."""
    payout.hold_reason = LOST_HOLD_REASON
    payout.next_attempt_at = None
    payout.save(update_fields=["hold_reason", "next_attempt_at", "updated_at"])
    audit(action="payout.held", target=payout, reason="chargeback lost")
    amount = format_money(payout.amount, payout.currency)
    issue_raise(
        key=f"payout:{payout.pk}:held-after-lost",
        kind="chargeback",
        description=f"Milestone #{payout.milestone_id} ({amount}) was approved after dispute "
        f"{chargeback.dispute_id} was lost, and the assignment no longer holds its money. "
        f"Payout #{payout.pk} waits: cancel the assignment, or have the platform pay it "
        "(admin, Chargebacks: “Pay the held payouts from the platform”).",
        assignment=payout.funding.assignment,
    )
    notify(
        recipient=payout.student,
        kind="payout.held",
        title=f"Your payout of {amount} is on hold",
        body="The employer's bank took the payment for this assignment back. Our team is "
        "deciding how your approved work is paid; you do not need to do anything.",
        link=reverse("payments:earnings"),
        dedupe_key=f"payout:{payout.pk}:held",
    )


def milestone_release(*, milestone_id: int) -> Payout | None:
    """An approved milestone: create its payout (the signal's nudge and the sweep's step)."""
    milestone = Milestone.objects.filter(pk=milestone_id).first()
    if milestone is None or milestone.status != Milestone.Status.APPROVED:
        return None
    return payout_create(milestone=milestone)


def _payout_wait_for_account(payout: Payout, account: PayoutAccount | None) -> None:
    if not payout.waiting_for_account:
        payout.waiting_for_account = True
        payout.save(update_fields=["waiting_for_account", "updated_at"])
        audit(action="payout.waiting_for_account", target=payout)
    link = reverse("payments:payout_account")
    amount = format_money(payout.amount, payout.currency)
    notify(
        recipient=payout.student,
        kind="payout.account_needed",
        title=f"Set up your payout account to receive {amount}",
        body="A payment is waiting for you. It is kept safe until your payout account is ready.",
        link=link,
        dedupe_key=f"payout:{payout.pk}:account_needed",
    )
    reminder_schedule(
        key=f"payout-account:{payout.student_id}:payout:{payout.pk}",
        recipient=payout.student,
        kind="reminder.payout_account",
        title=f"{amount} waits for your payout account",
        body="Finish setting up your payout account to receive it.",
        send_at=timezone.now() + timedelta(days=2),
        link=link,
    )


def _find_transfer(payout: Payout) -> Transfer | None:
    for transfer in get_provider().transfers_list(transfer_group=payout.funding.transfer_group):
        if transfer.metadata.get("payout_id") == str(payout.pk):
            return transfer
    return None


def _payout_attempt_start(*, payout_id: int) -> tuple[Payout, str] | None:
    """Lock, check and mark the payout ``processing`` for one more attempt (committed).

    Returns the payout and the destination account, or None when there is nothing to do now.
    """
    now = timezone.now()
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update()
            .select_related("funding", "student")
            .get(pk=payout_id)
        )
        if payout.status in (Payout.Status.PAID, Payout.Status.FAILED):
            return None
        if (
            payout.status == Payout.Status.PROCESSING
            and payout.processing_since
            and payout.processing_since > now - settings.PAYOUT_PROCESSING_LEASE
        ):
            return None  # another worker is on it right now
        account = PayoutAccount.objects.filter(student_id=payout.student_id).first()
        if account is None or not account.is_ready:
            _payout_wait_for_account(payout, account)
            return None
        if payout.funding.status != Funding.Status.PAID:
            return None
        if reason := hold_reason_for(funding_id=payout.funding_id):
            # The sweep leaves it alone (no next attempt) until the dispute is won, or staff
            # have the platform pay a lost one's payouts.
            if payout.status == Payout.Status.PENDING and payout.hold_reason != reason:
                payout.hold_reason = reason
                payout.next_attempt_at = None
                payout.save(update_fields=["hold_reason", "next_attempt_at", "updated_at"])
                audit(action="payout.held", target=payout, reason="chargeback")
            return None
        if payout.status == Payout.Status.PENDING:
            status_move(payout, Payout.Status.PROCESSING, "payout")
        payout.processing_since = now
        payout.attempts += 1
        payout.attempt_serial += 1
        payout.first_attempt_at = payout.first_attempt_at or now
        payout.waiting_for_account = False
        payout.save(
            update_fields=[
                "status",
                "processing_since",
                "attempts",
                "attempt_serial",
                "first_attempt_at",
                "waiting_for_account",
                "updated_at",
            ]
        )
    return payout, account.account_id


def payout_release(*, payout_id: int) -> Payout:
    """Transfer a payout to the student's connected account; safe to run twice or at once.

    Every attempt has its own idempotency key (the provider replays a key's first answer, a 500
    or a refusal included, so reusing it could never succeed). A later attempt first looks for a
    transfer an earlier one made (a lost answer, a worker killed after the call) in the
    assignment's transfer group: a retry never pays twice.
    """
    started = _payout_attempt_start(payout_id=payout_id)
    if started is None:
        return Payout.objects.get(pk=payout_id)
    payout, destination = started
    funding = payout.funding
    try:
        transfer = _find_transfer(payout) if payout.attempt_serial > 1 else None
        if transfer is None:
            transfer = get_provider().transfer_create(
                amount=payout.amount,
                currency=payout.currency,
                destination=destination,
                source_transaction=funding.charge_id or "",
                transfer_group=funding.transfer_group,
                metadata={
                    "payout_id": str(payout.pk),
                    "milestone_id": str(payout.milestone_id),
                    "assignment_id": str(payout.assignment_id),
                },
                idempotency_key=payout.idempotency_key,
            )
    except PaymentError as exc:
        return _payout_attempt_failed(payout_id=payout.pk, error=exc)
    return payout_record_transfer(payout_id=payout.pk, transfer=transfer)


def _payout_attempt_failed(*, payout_id: int, error: PaymentError) -> Payout:
    """What a refused attempt means (``attempts.error_outcome``): try again, wait, or fail."""
    outcome = error_outcome(error)
    student_id = Payout.objects.values_list("student_id", flat=True).get(pk=payout_id)
    if outcome == Outcome.WAIT_FOR_ACCOUNT:
        _account_resync(student_id=student_id)
    with transaction.atomic():
        # The account before the payout: the order payout_account_sync locks them in.
        account = PayoutAccount.objects.select_for_update().filter(student_id=student_id).first()
        payout = Payout.objects.select_for_update().select_related("student").get(pk=payout_id)
        if payout.status != Payout.Status.PROCESSING:
            return payout
        payout.last_error = (error.detail or error.message)[:2000]
        payout.processing_since = None
        if outcome == Outcome.WAIT_FOR_ACCOUNT and account is not None and account.is_ready:
            # The provider refused the transfer yet shows the account ready (or it became
            # ready just now): retried like a transient error, so that it stays bounded.
            outcome = Outcome.RETRY
        if outcome == Outcome.RETRY and payout.attempts >= settings.PAYOUT_MAX_RETRIES:
            outcome = Outcome.FINAL
        if outcome == Outcome.FINAL:
            _payout_fail(payout)
            return payout
        status_move(payout, Payout.Status.PENDING, "payout")
        payout.next_attempt_at = {
            Outcome.WAIT_FOR_ACCOUNT: None,
            Outcome.WAIT_FOR_BALANCE: timezone.now()
            + timedelta(seconds=settings.PAYOUT_BALANCE_RETRY_SECONDS),
        }.get(outcome, timezone.now() + _backoff(payout.attempts))
        payout.save(
            update_fields=[
                "status",
                "last_error",
                "processing_since",
                "next_attempt_at",
                "updated_at",
            ]
        )
        if outcome == Outcome.WAIT_FOR_ACCOUNT:
            # Released by payout_account_sync when ``account.updated`` says it is ready.
            _payout_wait_for_account(payout, account)
        else:
            audit(action=f"payout.{outcome}", target=payout, attempts=payout.attempts)
    return payout


def _account_resync(*, student_id: int) -> None:
    """After a "not ready" refusal our record of the account follows the provider's, so that
    the ``account.updated`` that makes it ready again releases the payout."""
    account = PayoutAccount.objects.filter(student_id=student_id).first()
    if account is not None:
        try:
            payout_account_sync(account_id=account.account_id)
        except PaymentError:
            logger.warning("Could not re-fetch account %s", account.account_id, exc_info=True)


def _payout_fail(payout: Payout) -> None:
    """The last attempt failed (row locked by the caller): the payout waits for staff."""
    now = timezone.now()
    status_move(payout, Payout.Status.FAILED, "payout")
    payout.failed_at = now
    payout.next_attempt_at = None
    payout.save(
        update_fields=[
            "status",
            "last_error",
            "processing_since",
            "failed_at",
            "next_attempt_at",
            "updated_at",
        ]
    )
    audit(action="payout.failed", target=payout, error=payout.last_error[:200])
    amount = format_money(payout.amount, payout.currency)
    notify(
        recipient=payout.student,
        kind="payout.failed",
        title=f"Your payout of {amount} is delayed",
        body="The transfer did not go through. Our team is looking into it; "
        "the money stays reserved for you.",
        link=reverse("payments:earnings"),
        dedupe_key=f"payout:{payout.pk}:failed:{payout.attempts}",
    )
    notify_many(
        recipients=_staff(),
        kind="payout.failed",
        title=f"Payout #{payout.pk} failed ({amount})",
        body=payout.last_error,
        link=reverse("admin:payments_payout_change", args=[payout.pk]),
        dedupe_key=f"payout:{payout.pk}:failed:{payout.attempts}:staff",
    )


def payout_record_transfer(*, payout_id: int, transfer: Transfer) -> Payout:
    """Record the transfer of a payout (from the release task or a ``transfer.*`` event)."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update()
            .select_related("student", "funding", "milestone")
            .get(pk=payout_id)
        )
        if payout.status in (Payout.Status.PAID, Payout.Status.REVERSED):
            if payout.transfer_id != transfer.id:
                issue_raise(
                    key=f"transfer:{transfer.id}:second",
                    kind="second_transfer",
                    description=f"Payout #{payout.pk} is paid by {payout.transfer_id}, "
                    f"and the provider also shows transfer {transfer.id} for it.",
                    assignment=payout.funding.assignment,
                )
            return payout
        if (
            transfer.amount != payout.amount
            or transfer.currency != payout.currency
            or transfer.metadata.get("payout_id") != str(payout.pk)
        ):
            issue_raise(
                key=f"transfer:{transfer.id}:mismatch",
                kind="transfer_mismatch",
                description=f"Transfer {transfer.id} ({transfer.amount} {transfer.currency}) does "
                f"not match payout #{payout.pk} ({payout.amount} {payout.currency}).",
                assignment=payout.funding.assignment,
            )
            return payout
        _payout_mark_paid(payout, transfer)
        milestone = Milestone.objects.select_for_update().get(pk=payout.milestone_id)
        if milestone.status == Milestone.Status.APPROVED:
            from applications import services as application_services

            application_services.milestone_mark_paid(milestone=milestone, actor=None)
    return payout


def _payout_mark_paid(payout: Payout, transfer: Transfer) -> None:
    """The locked payout is paid by ``transfer``: booked to the student and told to them."""
    _to_processing(payout)
    status_move(payout, Payout.Status.PAID, "payout")
    payout.transfer_id = transfer.id
    payout.paid_at = timezone.now()
    payout.processing_since = None
    payout.next_attempt_at = None
    payout.waiting_for_account = False
    payout.last_error = ""
    payout.save(
        update_fields=[
            "status",
            "transfer_id",
            "paid_at",
            "processing_since",
            "next_attempt_at",
            "waiting_for_account",
            "last_error",
            "updated_at",
        ]
    )
    ledger_post(
        transaction_id=f"payout:{payout.pk}:paid",
        assignment=payout.funding.assignment,
        currency=payout.currency,
        lines={Account.STUDENT_PAYABLE: -payout.amount, Account.STUDENT_PAID: payout.amount},
        memo=f"Transfer {transfer.id}",
    )
    audit(action="payout.paid", target=payout, transfer=transfer.id, amount=payout.amount)
    notify(
        recipient=payout.student,
        kind="payout.paid",
        title=f"You were paid {format_money(payout.amount, payout.currency)}",
        body=f"For “{payout.milestone.title}”. It reaches your bank on your payout schedule.",
        link=reverse("payments:earnings"),
        dedupe_key=f"payout:{payout.pk}:paid",
    )


def payout_transfer_sync(*, transfer_id: str) -> str:
    """A ``transfer.*`` event: re-fetch the transfer and record it if we had not yet."""
    transfer = get_provider().transfer_retrieve(transfer_id)
    payout_id = transfer.metadata.get("payout_id", "")
    payout = Payout.objects.filter(pk=payout_id).first() if payout_id.isdigit() else None
    if payout is None:
        return f"no payout of ours for transfer {transfer.id}"
    if transfer.transfer_group != f"assignment_{payout.assignment_id}":
        return f"transfer {transfer.id} is not in the payout's transfer group"
    payout_record_transfer(payout_id=payout.pk, transfer=transfer)
    if transfer.amount_reversed:
        from .reversals import payout_reversal_record

        payout_reversal_record(payout_id=payout.pk, transfer=transfer)
        return f"payout #{payout.pk} recorded, {transfer.amount_reversed} reversed"
    return f"payout #{payout.pk} recorded"


def payout_retry(*, payout: Payout, actor) -> Payout:
    """Staff send a failed payout round again (admin action): fresh attempts, due now."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        _attempts_restart(
            payout,
            refused=f"Only a failed payout can be retried (this one is {payout.status}).",
            actor=actor,
        )
        from ..tasks import release_payout

        release_payout.delay_on_commit(payout.pk)
    return payout
