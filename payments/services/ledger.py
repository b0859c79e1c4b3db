"""The double-entry ledger: one balanced transaction per money movement, booked once."""

from __future__ import annotations

from applications.models import Assignment

from ..models import (
    LedgerEntry,
)


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
