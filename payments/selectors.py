"""Reads with logic: the funding quote, the pages' lists, and the ledger's checks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Employer
from applications.models import Assignment
from marketplace.core.errors import DomainError
from marketplace.core.money import allocate, fee_split

from .models import (
    Chargeback,
    Funding,
    LedgerEntry,
    Payout,
    PayoutAccount,
    ReconciliationIssue,
    Refund,
)

Account = LedgerEntry.Account


@dataclass(frozen=True)
class QuoteLine:
    title: str
    amount: int
    fee: int


@dataclass(frozen=True)
class Quote:
    """What the employer pays: each milestone, and the platform fee on their total."""

    currency: str
    lines: list[QuoteLine]
    amount: int
    fee_percent: int
    fee: int

    @property
    def total(self) -> int:
        return self.amount + self.fee


def funding_quote(*, assignment: Assignment) -> Quote:
    """The breakdown shown before paying; a funding keeps its own copy once started.

    The fee is the stated percentage of the assignment's total, computed once, and each
    milestone's line shows its share of it (largest remainder): the shares add up to the fee.
    """
    funding = Funding.objects.filter(assignment=assignment).first()
    percent = funding.fee_percent if funding else settings.PLATFORM_FEE_PERCENT
    milestones = list(assignment.milestones.order_by("position", "id"))
    if not assignment.is_paid:
        raise DomainError("This assignment is for academic credit: there is nothing to fund.")
    if sum(m.amount for m in milestones) != assignment.amount:
        raise DomainError(
            "The milestones' amounts do not add up to the assignment's amount; "
            "please contact support before paying.",
            code="amount_mismatch",
        )
    paid = [m for m in milestones if m.amount > 0]
    fee, shares = fee_split([m.amount for m in paid], percent)
    lines = [
        QuoteLine(title=m.title, amount=m.amount, fee=share)
        for m, share in zip(paid, shares, strict=True)
    ]
    return Quote(
        currency=assignment.currency,
        lines=lines,
        amount=sum(line.amount for line in lines),
        fee_percent=percent,
        fee=fee,
    )


def funding_fee_shares(*, funding: Funding) -> dict[int, int]:
    """Each milestone's share of the funding's fee, by milestone id (the quote's shares).

    Shared out from the fee the employer paid, in the quote's order, so the refund of some
    milestones gives back exactly the fee the quote showed for them.
    """
    paid = [
        (m.pk, m.amount)
        for m in funding.assignment.milestones.order_by("position", "id")
        if m.amount > 0
    ]
    shares = allocate(funding.fee_amount, [amount for _pk, amount in paid])
    return {pk: share for (pk, _amount), share in zip(paid, shares, strict=True)}


def assignments_awaiting_funding(*, employer: Employer) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(
            posting__employer=employer,
            status=Assignment.Status.AWAITING_FUNDING,
            amount__gt=0,
        )
        .select_related("posting", "student", "funding")
        .order_by("funding_due_at", "pk")
    )


def fundings_for_employer(*, employer: Employer) -> QuerySet[Funding]:
    return (
        Funding.objects.filter(employer=employer)
        .select_related("assignment__posting", "assignment__student")
        .prefetch_related("refunds")
        .order_by("-created_at", "-id")
    )


def payouts_for_student(*, student) -> QuerySet[Payout]:
    return (
        Payout.objects.filter(student=student)
        .select_related("milestone", "assignment__posting__employer")
        .order_by("-created_at", "-id")
    )


def earnings_summary(*, student) -> dict[str, dict[str, int]]:
    """Per currency: paid, on the way (pending/processing), and waiting for review."""
    return earnings_overview(student=student)[0]


def earnings_overview(*, student) -> tuple[dict[str, dict[str, int]], int]:
    """``earnings_summary`` and the number of pending payouts waiting for the student's payout
    account, in one grouped query (the dashboard shows both)."""
    summary: dict[str, dict[str, int]] = defaultdict(lambda: {"paid": 0, "pending": 0, "failed": 0})
    rows = (
        Payout.objects.filter(student=student)
        .values("currency", "status")
        .annotate(
            total=Sum("amount"),
            waiting=Count("pk", filter=Q(status=Payout.Status.PENDING, waiting_for_account=True)),
        )
        .order_by()
    )
    waiting = 0
    for row in rows:
        key = {"paid": "paid", "failed": "failed"}.get(row["status"], "pending")
        summary[row["currency"]][key] += row["total"]
        waiting += row["waiting"]
    return dict(summary), waiting


def payout_account_for(*, student) -> PayoutAccount | None:
    return PayoutAccount.objects.filter(student=student).first()


def staff_overview() -> dict:
    """The staff money view: totals per currency and account, what needs attention."""
    balances: dict[str, dict[str, int]] = defaultdict(dict)
    for row in LedgerEntry.objects.values("currency", "account").annotate(total=Sum("amount")):
        balances[row["currency"]][row["account"]] = row["total"]
    return {
        "balances": dict(balances),
        "fee_summary": platform_fee_summary(balances),
        "chargebacks": Chargeback.objects.filter(
            Q(status=Chargeback.Status.OPEN) | Q(status=Chargeback.Status.LOST)
        )
        .select_related("assignment__posting")
        .order_by("evidence_due_by", "pk")[:50],
        "failed_payouts": Payout.objects.filter(status=Payout.Status.FAILED)
        .select_related("student", "milestone")
        .order_by("-failed_at")[:50],
        "waiting_payouts": Payout.objects.filter(
            status=Payout.Status.PENDING, waiting_for_account=True
        ).count(),
        "open_issues": ReconciliationIssue.objects.filter(resolved_at__isnull=True)
        .select_related("assignment")
        .order_by("-created_at")[:50],
        "recent_fundings": Funding.objects.select_related(
            "employer", "assignment__posting"
        ).order_by("-created_at")[:20],
        "recent_payouts": Payout.objects.select_related("student", "milestone").order_by(
            "-created_at"
        )[:20],
        "failed_refunds": Refund.objects.filter(status=Refund.Status.FAILED).order_by(
            "-created_at"
        )[:50],
        # Sent, but the bank has not confirmed them: not refunded yet, nothing to do unless old.
        "submitted_refunds": Refund.objects.filter(status=Refund.Status.SUBMITTED).order_by(
            "created_at"
        )[:50],
    }


@dataclass(frozen=True)
class FeeSummary:
    """The platform's revenue in one currency: the fee charged (less fees given back in
    refunds), what Stripe kept for processing, and what is left."""

    currency: str
    gross: int
    stripe_fees: int

    @property
    def net(self) -> int:
        return self.gross - self.stripe_fees


def platform_fee_summary(balances: dict[str, dict[str, int]]) -> list[FeeSummary]:
    """From the ledger's per-currency balances (the platform fee account is already net)."""
    rows = []
    for currency, accounts in sorted(balances.items()):
        stripe_fees = accounts.get(Account.STRIPE_FEES, 0)
        net = accounts.get(Account.PLATFORM_FEE, 0)
        if net or stripe_fees:
            rows.append(
                FeeSummary(currency=currency, gross=net + stripe_fees, stripe_fees=stripe_fees)
            )
    return rows


def ledger_problems() -> list[str]:
    """Every way the books are wrong; empty when they are right.

    1. Each transaction sums to zero and has one currency.
    2. Per funded assignment, the ledger matches our rows: the employer's charge is the
       funding's total, the student's paid account is the sum of paid payouts, refunds the sum of
       succeeded refunds; and the money is all accounted for: the funded amount equals what was
       paid plus refunded plus still held (nothing held is negative).
    """
    problems = _transaction_problems()
    balances = _assignment_balances()
    books = _AssignmentBooks.read()
    fundings = Funding.objects.filter(
        Q(status=Funding.Status.PAID) | Q(assignment_id__in=list(balances))
    ).values("assignment_id", "pk", "status", "amount", "fee_amount", "total_amount", "stripe_fee")
    funded_ids = set()
    for funding in fundings:
        funded_ids.add(funding["assignment_id"])
        problems += _funding_problems(funding, balances.get(funding["assignment_id"], {}), books)
    for assignment_id in set(balances) - funded_ids:
        problems.append(f"assignment #{assignment_id} has ledger entries but no funding")
    for payout in Payout.objects.filter(status=Payout.Status.PAID, transfer_id=None).values("pk"):
        problems.append(f"payout #{payout['pk']} is paid without a transfer")
    return problems


def _transaction_problems() -> list[str]:
    """Transactions that do not sum to zero, or that mix currencies."""
    problems: list[str] = []
    unbalanced = (
        LedgerEntry.objects.values("transaction_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .order_by("transaction_id")
    )
    for row in unbalanced:
        problems.append(
            f"transaction {row['transaction_id']} does not sum to zero (off by {row['total']})"
        )
    mixed = (
        LedgerEntry.objects.values("transaction_id")
        .annotate(currencies=Count("currency", distinct=True))
        .filter(currencies__gt=1)
        .order_by("transaction_id")
    )
    for mixed_row in mixed:
        problems.append(f"transaction {mixed_row['transaction_id']} mixes currencies")
    return problems


def _assignment_balances() -> dict[int, dict[str, int]]:
    """Each assignment's ledger balance per account."""
    balances: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for balance in (
        LedgerEntry.objects.exclude(assignment=None)
        .values("assignment_id", "account")
        .annotate(total=Sum("amount"))
    ):
        balances[balance["assignment_id"]][balance["account"]] = balance["total"]
    return balances


@dataclass(frozen=True)
class _AssignmentBooks:
    """Our own rows' sums per assignment, to hold the ledger against."""

    paid_payouts: dict[int, int]
    refunded: dict[int, tuple[int, int]]  # (amount, fee part)
    lost: dict[int, tuple[int, int]]  # (held money, fee) lost to chargebacks

    @classmethod
    def read(cls) -> _AssignmentBooks:
        # What students keep: paid payouts less what transfer reversals took back.
        paid_payouts = {
            row["assignment_id"]: row["total"] - row["reversed"]
            for row in Payout.objects.filter(
                status__in=[Payout.Status.PAID, Payout.Status.REVERSED]
            )
            .values("assignment_id")
            .annotate(total=Sum("amount"), reversed=Sum("amount_reversed"))
        }
        refunded = {
            row["assignment_id"]: (row["total"], row["fee"])
            for row in Refund.objects.filter(status=Refund.Status.SUCCEEDED)
            .values("assignment_id")
            .annotate(total=Sum("amount"), fee=Sum("fee_amount"))
        }
        # Lost chargebacks: the held money and fee that covered them left the assignment, less
        # what the platform later put back in to pay its payouts.
        lost = {
            row["assignment_id"]: (row["held"] - row["covered"], row["fee"])
            for row in Chargeback.objects.filter(status=Chargeback.Status.LOST)
            .values("assignment_id")
            .annotate(held=Sum("held_used"), fee=Sum("fee_used"), covered=Sum("platform_covered"))
        }
        return cls(paid_payouts=paid_payouts, refunded=refunded, lost=lost)


def _funding_problems(
    funding: Mapping[str, Any], b: dict[str, int], books: _AssignmentBooks
) -> list[str]:
    """How one funded assignment's ledger balances ``b`` disagree with our rows."""
    assignment_id = funding["assignment_id"]
    label = f"assignment #{assignment_id}"
    if funding["status"] != Funding.Status.PAID:
        return [f"{label} has ledger entries but its funding is not paid"] if b else []
    problems: list[str] = []
    charged = -b.get(Account.EMPLOYER_FUNDING, 0)
    paid = b.get(Account.STUDENT_PAID, 0)
    refunds = b.get(Account.REFUNDS, 0)
    held = b.get(Account.HELD, 0) + b.get(Account.STUDENT_PAYABLE, 0)
    fee_kept = b.get(Account.PLATFORM_FEE, 0) + b.get(Account.STRIPE_FEES, 0)
    if charged != funding["total_amount"]:
        problems.append(
            f"{label}: the ledger has {charged} charged but the funding is "
            f"{funding['total_amount']}"
        )
    if paid != books.paid_payouts.get(assignment_id, 0):
        problems.append(
            f"{label}: the ledger has {paid} paid to the student but the paid payouts "
            f"sum to {books.paid_payouts.get(assignment_id, 0)}"
        )
    refund_total, refund_fee = books.refunded.get(assignment_id, (0, 0))
    lost_held, lost_fee = books.lost.get(assignment_id, (0, 0))
    held += lost_held
    fee_kept += lost_fee
    if refunds != refund_total:
        problems.append(
            f"{label}: the ledger has {refunds} refunded but the refunds sum to {refund_total}"
        )
    if funding["amount"] != paid + (refunds - refund_fee) + held:
        problems.append(
            f"{label}: funded {funding['amount']} != paid {paid} + refunded "
            f"{refunds - refund_fee} + held {held}"
        )
    if fee_kept != funding["fee_amount"] - refund_fee:
        problems.append(
            f"{label}: the platform fee kept is {fee_kept}, expected "
            f"{funding['fee_amount'] - refund_fee}"
        )
    if b.get(Account.STRIPE_FEES, 0) != (funding["stripe_fee"] or 0):
        problems.append(
            f"{label}: the ledger has {b.get(Account.STRIPE_FEES, 0)} of Stripe fees but "
            f"the charge's fee is {funding['stripe_fee'] or 0}"
        )
    if b.get(Account.HELD, 0) < 0 or b.get(Account.STUDENT_PAYABLE, 0) < 0:
        problems.append(f"{label}: more was paid out or refunded than was held")
    return problems
