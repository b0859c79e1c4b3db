"""Chargebacks: an employer's bank disputes the card payment of a funding (a Stripe dispute).

With separate charges and transfers Stripe takes the disputed amount and its dispute fee from
the platform balance, not from the students. So while a dispute is open the funding's payouts
that are not paid yet wait (``hold_reason`` says why); each of the dispute's balance
transactions (funds withdrawn, funds reinstated) is booked once; staff and the employer are
told, with the evidence due date on the staff money page.

When it closes: won (or an inquiry closed, or prevented) resumes the payouts; lost leaves the
money gone, so what the assignment still held, then its platform fee, cover the loss, and the
payouts wait (``LOST_HOLD_REASON``) until staff decide: cancel the assignment, or have the
platform pay them (``chargeback_release_payouts``, an admin action). A milestone approved after
the loss gets its payout too, held the same way, not refused: its money is booked as owed to
the student only once the platform puts in what the assignment no longer holds.

Every event (``charge.dispute.created``, ``.updated``, ``.closed``, ``.funds_withdrawn``,
``.funds_reinstated``) re-fetches the dispute and runs the same idempotent sync.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import models, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from marketplace.core.audit import audit
from marketplace.core.errors import InvalidTransition, status_move
from marketplace.core.money import format_money
from notifications.services import notify

from ..models import Chargeback, Funding, LedgerEntry, Payout
from ..providers import get_provider
from ..providers.base import Dispute
from .attempts import Account
from .ledger import assignment_refundable, ledger_post, payout_due_booked, payout_due_post
from .reconciliation import issue_raise

# Stripe's closed statuses: which keep the money and which lose it.
KEPT = frozenset({"won", "warning_closed", "prevented"})
LOST = frozenset({"lost"})
HOLD_REASON = (
    "The employer's bank disputes the card payment for this assignment: "
    "this payout waits until the dispute is decided."
)
LOST_HOLD_REASON = (
    "The employer's bank took the payment for this assignment back: "
    "this payout waits until our team decides how it is paid."
)


def chargeback_sync(*, dispute_id: str) -> str:
    """A ``charge.dispute.*`` event: re-fetch the dispute and bring our records up to date."""
    dispute = get_provider().dispute_retrieve(dispute_id)
    match = Q(charge_id=dispute.charge_id)
    if dispute.payment_intent_id:  # never ``payment_intent_id=None``: that is every unpaid one
        match |= Q(payment_intent_id=dispute.payment_intent_id)
    funding = Funding.objects.filter(match).first() if dispute.charge_id else None
    if funding is None:
        issue_raise(
            key=f"dispute:{dispute.id}:unknown",
            kind="chargeback",
            description=f"Dispute {dispute.id} on charge {dispute.charge_id} "
            f"({format_money(dispute.amount, dispute.currency)}) names no funding of ours.",
        )
        return f"no funding of ours for dispute {dispute.id}"
    with transaction.atomic():
        Funding.objects.select_for_update().get(pk=funding.pk)
        chargeback, created = _chargeback_record(funding, dispute)
        for movement in dispute.movements:
            _book_movement(chargeback, movement)
        if chargeback.status == Chargeback.Status.OPEN:
            if dispute.status in KEPT:
                _close_kept(chargeback)
            elif dispute.status in LOST:
                _close_lost(chargeback)
    return f"chargeback #{chargeback.pk} is {chargeback.status} ({dispute.status})"


def _chargeback_record(funding: Funding, dispute: Dispute) -> tuple[Chargeback, bool]:
    due = (
        datetime.fromtimestamp(dispute.evidence_due_by, tz=UTC) if dispute.evidence_due_by else None
    )
    chargeback, created = Chargeback.objects.select_for_update().get_or_create(
        dispute_id=dispute.id,
        defaults={
            "funding": funding,
            "assignment_id": funding.assignment_id,
            "amount": dispute.amount,
            "currency": dispute.currency or funding.currency,
            "reason": dispute.reason[:50],
            "stripe_status": dispute.status,
            "evidence_due_by": due,
        },
    )
    if created:
        audit(action="chargeback.opened", target=chargeback, amount=dispute.amount)
        held = _hold_payouts(funding)
        _tell_opened(chargeback, held)
    elif (chargeback.stripe_status, chargeback.evidence_due_by, chargeback.amount) != (
        dispute.status,
        due,
        dispute.amount,
    ):
        chargeback.stripe_status = dispute.status
        chargeback.evidence_due_by = due
        chargeback.amount = dispute.amount
        chargeback.save(update_fields=["stripe_status", "evidence_due_by", "amount", "updated_at"])
    return chargeback, created


def _book_movement(chargeback: Chargeback, movement) -> None:
    """Funds withdrawn (amount < 0) or reinstated (amount > 0), with the dispute fee: once."""
    if movement.currency and movement.currency != chargeback.currency:
        issue_raise(
            key=f"dispute:{chargeback.dispute_id}:{movement.id}:currency",
            kind="chargeback",
            description=f"Balance transaction {movement.id} of dispute {chargeback.dispute_id} "
            f"is in {movement.currency}, not {chargeback.currency}: book it by hand.",
            assignment=chargeback.assignment,
        )
        return
    booked = ledger_post(
        transaction_id=f"chargeback:{chargeback.pk}:{movement.id}",
        assignment=chargeback.assignment,
        currency=chargeback.currency,
        lines={
            Account.CHARGEBACKS: -movement.amount,
            Account.DISPUTE_FEES: movement.fee,
            Account.PLATFORM_LOSSES: movement.amount - movement.fee,
        },
        memo=f"Dispute {chargeback.dispute_id}: "
        + ("funds withdrawn" if movement.amount < 0 else "funds reinstated"),
    )
    if booked:
        audit(
            action="chargeback.funds_withdrawn" if movement.amount < 0 else "chargeback.reinstated",
            target=chargeback,
            amount=movement.amount,
            fee=movement.fee,
        )


def _hold_payouts(funding: Funding) -> int:
    """Payouts of the funding not paid yet wait (the sweep skips them: no next attempt)."""
    return Payout.objects.filter(funding=funding, status=Payout.Status.PENDING).update(
        hold_reason=HOLD_REASON, next_attempt_at=None, updated_at=timezone.now()
    )


def hold_reason_for(*, funding_id: int) -> str:
    """Why a payout of this funding must wait now, or "" when it need not: an open chargeback,
    or a lost one whose payouts staff have not had the platform pay."""
    statuses = set(
        Chargeback.objects.filter(funding_id=funding_id)
        .filter(
            Q(status=Chargeback.Status.OPEN)
            | Q(status=Chargeback.Status.LOST, payouts_released_at=None)
        )
        .values_list("status", flat=True)
    )
    if Chargeback.Status.OPEN in statuses:
        return HOLD_REASON
    return LOST_HOLD_REASON if statuses else ""


def chargeback_blocks(*, funding_id: int) -> bool:
    """Whether a payout of this funding must wait (see ``hold_reason_for``)."""
    return bool(hold_reason_for(funding_id=funding_id))


def lost_chargeback(*, funding_id: int) -> Chargeback | None:
    """The funding's latest lost chargeback, if any."""
    return (
        Chargeback.objects.filter(funding_id=funding_id, status=Chargeback.Status.LOST)
        .order_by("-closed_at", "-pk")
        .first()
    )


def payout_fund_after_loss(*, chargeback: Chargeback, payout: Payout) -> None:
    """Book a payout of a funding whose chargeback was lost as owed to the student, the platform
    putting in what the assignment no longer holds (its loss, ``platform_covered``). Inside the
    caller's transaction, funding locked; once per payout."""
    if payout_due_booked(payout):
        return
    held = assignment_refundable(assignment_id=payout.assignment_id)[0]
    shortfall = max(0, payout.amount - max(held, 0))
    if shortfall:
        ledger_post(
            transaction_id=f"payout:{payout.pk}:covered",
            assignment=chargeback.assignment,
            currency=payout.currency,
            lines={Account.PLATFORM_LOSSES: -shortfall, Account.HELD: shortfall},
            memo=f"Dispute {chargeback.dispute_id} lost: the platform pays payout #{payout.pk}",
        )
        Chargeback.objects.filter(pk=chargeback.pk).update(
            platform_covered=models.F("platform_covered") + shortfall
        )
    payout_due_post(payout)


def chargeback_release_payouts(*, chargeback: Chargeback, actor) -> int:
    """Staff decide that the platform pays the payouts a lost chargeback holds (admin action):
    each is booked as owed (the platform putting in what is missing) and released, and so is
    every payout of the assignment approved later. Returns how many were released."""
    from ..tasks import release_payout

    with transaction.atomic():
        Funding.objects.select_for_update().get(pk=chargeback.funding_id)
        chargeback = Chargeback.objects.select_for_update().get(pk=chargeback.pk)
        if chargeback.status != Chargeback.Status.LOST:
            raise InvalidTransition("Only the payouts of a lost chargeback are paid this way.")
        if chargeback.payouts_released_at is not None:
            return 0
        chargeback.payouts_released_at = timezone.now()
        chargeback.save(update_fields=["payouts_released_at", "updated_at"])
        waiting = list(
            Payout.objects.select_for_update()
            .select_related("funding__assignment")
            .filter(funding_id=chargeback.funding_id, status=Payout.Status.PENDING)
            .exclude(hold_reason="")
        )
        still_open = chargeback_blocks(funding_id=chargeback.funding_id)
        for payout in waiting:
            payout_fund_after_loss(chargeback=chargeback, payout=payout)
            if not still_open:  # another dispute on the same payment still holds them
                payout.hold_reason = ""
                payout.next_attempt_at = timezone.now()
                payout.save(update_fields=["hold_reason", "next_attempt_at", "updated_at"])
                release_payout.delay_on_commit(payout.pk)
        audit(
            action="chargeback.payouts_released",
            target=chargeback,
            actor=actor,
            payouts=len(waiting),
        )
    return 0 if still_open else len(waiting)


def _close_kept(chargeback: Chargeback) -> None:
    status_move(chargeback, Chargeback.Status.WON, "chargeback")
    chargeback.closed_at = timezone.now()
    chargeback.save(update_fields=["status", "closed_at", "updated_at"])
    audit(action="chargeback.won", target=chargeback, stripe_status=chargeback.stripe_status)
    if chargeback_blocks(funding_id=chargeback.funding_id):
        return  # another dispute on the same payment is still open
    waiting = list(
        Payout.objects.filter(funding_id=chargeback.funding_id, status=Payout.Status.PENDING)
        .exclude(hold_reason="")
        .values_list("pk", flat=True)
    )
    Payout.objects.filter(pk__in=waiting).update(hold_reason="", next_attempt_at=timezone.now())
    from ..tasks import release_payout

    for payout_id in waiting:
        release_payout.delay_on_commit(payout_id)
    _tell_closed(chargeback, resumed=len(waiting))


def _close_lost(chargeback: Chargeback) -> None:
    """The bank kept the money: what the assignment still holds, then its platform fee, cover
    it; the rest (what students were already paid, the dispute fee) is the platform's loss."""
    status_move(chargeback, Chargeback.Status.LOST, "chargeback")
    balances = dict(
        LedgerEntry.objects.filter(assignment_id=chargeback.assignment_id)
        .values_list("account")
        .annotate(total=Sum("amount"))
    )
    held_used = max(0, min(balances.get(Account.HELD, 0), chargeback.amount))
    fee_used = max(0, min(balances.get(Account.PLATFORM_FEE, 0), chargeback.amount - held_used))
    chargeback.held_used, chargeback.fee_used = held_used, fee_used
    chargeback.closed_at = timezone.now()
    chargeback.save(update_fields=["status", "held_used", "fee_used", "closed_at", "updated_at"])
    ledger_post(
        transaction_id=f"chargeback:{chargeback.pk}:lost",
        assignment=chargeback.assignment,
        currency=chargeback.currency,
        lines={
            Account.HELD: -held_used,
            Account.PLATFORM_FEE: -fee_used,
            Account.PLATFORM_LOSSES: held_used + fee_used,
        },
        memo=f"Dispute {chargeback.dispute_id} lost: held money and fee cover it",
    )
    audit(action="chargeback.lost", target=chargeback, held_used=held_used, fee_used=fee_used)
    # The payouts waiting for the decision now wait for staff, and say so.
    Payout.objects.filter(funding_id=chargeback.funding_id, status=Payout.Status.PENDING).update(
        hold_reason=LOST_HOLD_REASON, next_attempt_at=None, updated_at=timezone.now()
    )
    _tell_closed(chargeback, resumed=0)


def _tell_opened(chargeback: Chargeback, held: int) -> None:
    amount = format_money(chargeback.amount, chargeback.currency)
    due = (
        f"Evidence is due by {chargeback.evidence_due_by:%d %b %Y %H:%M} UTC. "
        if chargeback.evidence_due_by
        else ""
    )
    issue_raise(
        key=f"dispute:{chargeback.dispute_id}:opened",
        kind="chargeback",
        description=f"The employer's bank disputes {amount} of funding #{chargeback.funding_id} "
        f"(dispute {chargeback.dispute_id}, reason: {chargeback.reason or 'not given'}). "
        f"{due}{held} payout(s) wait. Answer with the assignment's record in the Stripe "
        "dashboard.",
        assignment=chargeback.assignment,
    )
    employer = chargeback.funding.created_by
    if employer is not None:
        notify(
            recipient=employer,
            kind="payments.chargeback",
            title=f"Your bank disputes your payment of {amount}",
            body="We were told your card's bank is disputing the payment for "
            f"“{chargeback.assignment}”. Until it is settled the student's payouts wait. If "
            "this is a mistake, please ask your bank to withdraw the dispute.",
            link=reverse("payments:billing"),
            dedupe_key=f"chargeback:{chargeback.pk}:opened",
        )


def _tell_closed(chargeback: Chargeback, *, resumed: int) -> None:
    won = chargeback.status == Chargeback.Status.WON
    amount = format_money(chargeback.amount, chargeback.currency)
    if won:
        outcome = f"the money was kept, {resumed} payout(s) resumed."
    else:
        outcome = (
            f"lost. {format_money(chargeback.held_used, chargeback.currency)} held for the "
            f"assignment and {format_money(chargeback.fee_used, chargeback.currency)} of its fee "
            "covered it; its payouts, and those of milestones approved later, wait: cancel the "
            "assignment, or have the platform pay them (admin, Chargebacks: “Pay the held "
            "payouts from the platform”)."
        )
    issue_raise(
        key=f"dispute:{chargeback.dispute_id}:{chargeback.status}",
        kind="chargeback",
        description=f"Dispute {chargeback.dispute_id} ({amount}) is closed: {outcome}",
        assignment=chargeback.assignment,
    )
    employer = chargeback.funding.created_by
    if employer is not None:
        notify(
            recipient=employer,
            kind="payments.chargeback",
            title=f"The dispute of your payment of {amount} is closed",
            body="The payment stands and the assignment goes on."
            if won
            else "Your bank returned the payment to you; the assignment is no longer funded.",
            link=reverse("payments:billing"),
            dedupe_key=f"chargeback:{chargeback.pk}:{chargeback.status}",
        )
