"""The double-entry ledger: one balanced transaction per money movement, booked once."""

from __future__ import annotations

from django.db.models import Sum

from applications.models import Assignment

from ..models import LedgerEntry, Payout, Refund

Account = LedgerEntry.Account


def ledger_post(
    *,
    transaction_id: str,
    assignment: Assignment | None,
    currency: str,
    lines: dict,
    memo: str = "",
) -> bool:
    """Book one balanced transaction, once: a second call with the same id books nothing.

    Call it inside the transaction (and under the row lock) of the movement it records.
    """
    lines = {account: int(amount) for account, amount in lines.items() if amount}
    if sum(lines.values()) != 0:
        raise ValueError(f"Ledger transaction {transaction_id} does not balance: {lines}")
    if LedgerEntry.objects.filter(transaction_id=transaction_id).exists():
        return False
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                transaction_id=transaction_id,
                account=account,
                amount=amount,
                currency=currency,
                assignment=assignment,
                memo=memo[:200],
            )
            for account, amount in lines.items()
        ]
    )
    return True


def assignment_refundable(*, assignment_id: int) -> tuple[int, int]:
    """What could still go back to the employer, from the ledger: ``(held, fee)``.

    ``held`` is what the assignment holds (paid in, less released to the student, less
    refunded), ``fee`` the platform fee not given back; both less the refunds under way (not
    booked yet: pending, sent, or failed and waiting for staff), so that two causes (a late
    payment and the cancellation sweep, say) never give the same money back twice.
    """
    booked = dict(
        LedgerEntry.objects.filter(
            assignment_id=assignment_id,
            account__in=[Account.HELD, Account.PLATFORM_FEE, Account.STRIPE_FEES],
        )
        .values_list("account")
        .annotate(total=Sum("amount"))
    )
    under_way = (
        Refund.objects.filter(assignment_id=assignment_id)
        .exclude(status=Refund.Status.SUCCEEDED)
        .aggregate(amount=Sum("amount"), fee=Sum("fee_amount"))
    )
    fee_under_way = under_way["fee"] or 0
    held_under_way = (under_way["amount"] or 0) - fee_under_way
    return (
        booked.get(Account.HELD, 0) - held_under_way,
        # The fee as charged: Stripe's fee was paid out of it (booked apart), not given back.
        booked.get(Account.PLATFORM_FEE, 0) + booked.get(Account.STRIPE_FEES, 0) - fee_under_way,
    )


def payout_due_booked(payout: Payout) -> bool:
    return LedgerEntry.objects.filter(transaction_id=f"payout:{payout.pk}:due").exists()


def payout_due_post(payout: Payout) -> None:
    """The payout's money moves from what the assignment holds to what the student is owed."""
    ledger_post(
        transaction_id=f"payout:{payout.pk}:due",
        assignment=payout.funding.assignment,
        currency=payout.currency,
        lines={Account.HELD: -payout.amount, Account.STUDENT_PAYABLE: payout.amount},
        memo=f"Milestone #{payout.milestone_id} due to the student",
    )
