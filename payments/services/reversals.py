"""Transfer reversals: money Stripe took back from a student's connected account to the platform.

Staff reverse a transfer in Stripe (a payout made by mistake, a student's fraud, a chargeback
passed on); we learn it from ``transfer.reversed``/``transfer.updated`` and the transfer's
``amount_reversed``, which only grows. Each increase is booked once (the transaction id carries
the new total): the student's paid account goes down and the money is held for the assignment
again, until staff pay it again or refund the employer. A full reversal marks the payout
``reversed``; a partial one leaves it ``paid`` with ``amount_reversed``.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from marketplace.core.audit import audit
from marketplace.core.errors import status_move
from marketplace.core.money import format_money
from notifications.services import notify

from ..models import Payout
from ..providers.base import Transfer
from .attempts import Account
from .ledger import ledger_post
from .reconciliation import issue_raise


def payout_reversal_record(*, payout_id: int, transfer: Transfer) -> Payout:
    """Book what a transfer's reversals took back since we last looked (idempotent)."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update()
            .select_related("student", "milestone", "assignment")
            .get(pk=payout_id)
        )
        if payout.transfer_id != transfer.id or payout.status not in (
            Payout.Status.PAID,
            Payout.Status.REVERSED,
        ):
            return payout  # not this payout's recorded transfer: reconciliation reports it
        taken = min(transfer.amount_reversed, payout.amount) - payout.amount_reversed
        if taken <= 0:
            return payout  # an older or repeated event: nothing new was taken back
        payout.amount_reversed += taken
        fields = ["amount_reversed", "updated_at"]
        if payout.amount_reversed == payout.amount:
            status_move(payout, Payout.Status.REVERSED, "payout")
            fields.append("status")
        payout.save(update_fields=fields)
        ledger_post(
            transaction_id=f"payout:{payout.pk}:reversed:{payout.amount_reversed}",
            assignment=payout.assignment,
            currency=payout.currency,
            lines={Account.STUDENT_PAID: -taken, Account.HELD: taken},
            memo=f"Reversal of transfer {transfer.id}",
        )
        audit(
            action="payout.reversed",
            target=payout,
            amount=taken,
            amount_reversed=payout.amount_reversed,
            transfer=transfer.id,
        )
        _tell(payout, taken)
    return payout


def _tell(payout: Payout, taken: int) -> None:
    amount = format_money(taken, payout.currency)
    whole = payout.amount_reversed == payout.amount
    notify(
        recipient=payout.student,
        kind="payout.reversed",
        title=f"{amount} of your payout was taken back",
        body=f"For “{payout.milestone.title}”: "
        + ("the whole payout was reversed." if whole else "part of the payout was reversed.")
        + " Our team will contact you about it.",
        link=reverse("payments:earnings"),
        dedupe_key=f"payout:{payout.pk}:reversed:{payout.amount_reversed}",
    )
    issue_raise(
        key=f"payout:{payout.pk}:reversed:{payout.amount_reversed}",
        kind="transfer_reversed",
        description=f"Transfer {payout.transfer_id} of payout #{payout.pk} was "
        f"{'fully' if whole else 'partly'} reversed: {amount} came back to the platform "
        f"({format_money(payout.amount_reversed, payout.currency)} of "
        f"{format_money(payout.amount, payout.currency)} in all). It is held for the assignment "
        "again: pay it to the student again or refund the employer.",
        assignment=payout.assignment,
    )
