"""The CSV exports of payouts and fundings (pages and API alike): one row per payout or
funding, amounts in major units with their currency, spreadsheet-safe (``csv_response``)."""

from django.db.models import QuerySet
from django.http import HttpResponse

from marketplace.core.exports import csv_response
from marketplace.core.money import format_amount

from . import selectors
from .models import Funding, Payout

PAYOUT_HEADER = [
    "payout_id",
    "created_at",
    "student",
    "posting",
    "milestone",
    "amount",
    "currency",
    "status",
    "paid_at",
    "transfer_id",
]
FUNDING_HEADER = [
    "funding_id",
    "created_at",
    "employer",
    "posting",
    "student",
    "milestones",
    "platform_fee",
    "total",
    "refunded",
    "currency",
    "status",
    "paid_at",
]


def student_payouts(student) -> QuerySet[Payout]:
    return selectors.payouts_for_student(student=student).select_related("student")


def all_payouts() -> QuerySet[Payout]:
    return Payout.objects.select_related("student", "milestone", "assignment__posting").order_by(
        "-created_at", "-id"
    )


def employer_fundings(employer) -> QuerySet[Funding]:
    return selectors.fundings_for_employer(employer=employer).select_related("employer")


def all_fundings() -> QuerySet[Funding]:
    return (
        Funding.objects.select_related("employer", "assignment__posting", "assignment__student")
        .prefetch_related("refunds")
        .order_by("-created_at", "-id")
    )


def _payout_rows(payouts):
    for p in payouts.iterator(chunk_size=500):
        yield [
            p.pk,
            p.created_at.isoformat(),
            p.student.email,
            p.assignment.posting.title,
            p.milestone.title,
            format_amount(p.amount, p.currency),
            p.currency,
            p.status,
            p.paid_at.isoformat() if p.paid_at else "",
            p.transfer_id or "",
        ]


def _funding_rows(fundings):
    for f in fundings:
        refunded = sum(r.amount for r in f.refunds.all() if r.status == r.Status.SUCCEEDED)
        yield [
            f.pk,
            f.created_at.isoformat(),
            f.employer.name,
            f.assignment.posting.title,
            f.assignment.student.email,
            format_amount(f.amount, f.currency),
            format_amount(f.fee_amount, f.currency),
            format_amount(f.total_amount, f.currency),
            format_amount(refunded, f.currency),
            f.currency,
            f.status,
            f.paid_at.isoformat() if f.paid_at else "",
        ]


def payouts_csv(payouts: QuerySet[Payout], filename: str) -> HttpResponse:
    return csv_response(filename, PAYOUT_HEADER, _payout_rows(payouts))


def fundings_csv(fundings: QuerySet[Funding], filename: str) -> HttpResponse:
    return csv_response(filename, FUNDING_HEADER, _funding_rows(fundings))
