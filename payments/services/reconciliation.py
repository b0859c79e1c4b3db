"""Differences for staff (issues) and the nightly check of the ledger against the provider."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from applications.models import Assignment
from marketplace.core.audit import audit
from notifications.services import notify_many

from .. import selectors
from ..models import Chargeback, Funding, LedgerEntry, ReconciliationIssue, Refund
from ..providers import get_provider
from ..providers.base import CheckoutSession, PaymentError
from .attempts import _staff

logger = logging.getLogger(__name__)


def issue_raise(
    *, key: str, kind: str, description: str, assignment: Assignment | None = None
) -> ReconciliationIssue | None:
    """Record a difference for staff, once per ``key``, and tell every staff user."""
    issue, created = ReconciliationIssue.objects.get_or_create(
        key=key[:200],
        defaults={"kind": kind, "description": description, "assignment": assignment},
    )
    if not created:
        return None
    logger.warning("Payments issue %s: %s", kind, description)
    notify_many(
        recipients=_staff(),
        kind="payments.issue",
        title=f"Payments: {kind.replace('_', ' ')}",
        body=description,
        link=reverse("payments:staff_money"),
        dedupe_key=f"payments-issue:{issue.pk}",
    )
    return issue


def issue_resolve(*, issue: ReconciliationIssue, actor) -> ReconciliationIssue:
    with transaction.atomic():
        issue = ReconciliationIssue.objects.select_for_update().get(pk=issue.pk)
        if issue.resolved_at is None:
            issue.resolved_at = timezone.now()
            issue.resolved_by = actor
            issue.save(update_fields=["resolved_at", "resolved_by"])
            audit(action="payments.issue_resolved", target=issue, actor=actor)
    return issue


# Which of Stripe's refund statuses agree with ours (a submitted refund may still be pending).
AGREEING: dict[str, tuple[str, ...]] = {
    Refund.Status.SUBMITTED: ("pending", "requires_action"),
    Refund.Status.SUCCEEDED: ("succeeded",),
    Refund.Status.FAILED: ("failed", "canceled"),
}


def ledger_reconcile(*, since: datetime | None = None) -> int:
    """The nightly check: the ledger against itself, our rows, and the provider's objects.

    Every difference becomes a ``ReconciliationIssue`` (once) and staff are told. Returns the
    number of new issues. The nightly task runs the same in parts (``ledger_reconcile_internal``,
    ``ledger_reconcile_fundings`` per chunk of ``reconcile_funding_ids``, then
    ``ledger_reconcile_others``) so that each part fits its time limit.
    """
    new = ledger_reconcile_internal()
    new += ledger_reconcile_fundings(funding_ids=reconcile_funding_ids(since=since))
    return new + ledger_reconcile_others(since=since)


def ledger_reconcile_internal() -> int:
    """The ledger against itself (balanced transactions, accounts that must not go negative)."""
    new = 0
    for problem in selectors.ledger_problems():
        if issue_raise(key=f"ledger:{problem[:180]}", kind="ledger", description=problem):
            new += 1
    return new


def reconcile_funding_ids(*, since: datetime | None = None) -> list[int]:
    """The paid fundings the provider check covers (the last 35 days by default), oldest first."""
    since = since or timezone.now() - timedelta(days=35)
    return list(
        Funding.objects.filter(status=Funding.Status.PAID, paid_at__gte=since)
        .order_by("paid_at", "pk")
        .values_list("pk", flat=True)
    )


def ledger_reconcile_fundings(*, funding_ids: list[int]) -> int:
    """Our rows of these fundings against the provider's objects; returns the new issues."""
    provider = get_provider()
    fundings = (
        Funding.objects.filter(pk__in=funding_ids)
        .select_related("assignment")
        .prefetch_related("payouts", "refunds")
        .order_by("pk")
    )
    new = 0
    for funding in fundings:
        for text in _funding_differences(provider, funding):
            if issue_raise(
                key=f"reconcile:{text[:180]}",
                kind="provider_difference",
                description=text,
                assignment=funding.assignment,
            ):
                new += 1
    return new


def ledger_reconcile_others(*, since: datetime | None = None) -> int:
    """Payments captured but never booked, and the chargebacks."""
    from .fulfilment import fundings_find_unbooked  # it books through funding, which uses us

    since = since or timezone.now() - timedelta(days=35)
    new = fundings_find_unbooked(since=since)
    return new + _reconcile_chargebacks(get_provider(), since)


def _funding_differences(provider, funding: Funding) -> list[str]:
    found: list[str] = []
    try:
        session: CheckoutSession = provider.checkout_retrieve(funding.checkout_session_id or "")
        if session.payment_status != "paid" or session.amount_total != funding.total_amount:
            found.append(
                f"funding #{funding.pk}: the provider shows {session.payment_status} "
                f"{session.amount_total} for {funding.total_amount}"
            )
        transfers = {
            t.id: t for t in provider.transfers_list(transfer_group=funding.transfer_group)
        }
        ours = {p.transfer_id: p for p in funding.payouts.all() if p.transfer_id}
        for transfer_id, transfer in transfers.items():
            payout = ours.get(transfer_id)
            if payout is None:
                found.append(
                    f"funding #{funding.pk}: transfer {transfer_id} "
                    f"({transfer.amount} {transfer.currency}) is not recorded as a payout"
                )
            elif (
                transfer.amount != payout.amount
                or transfer.amount_reversed != payout.amount_reversed
            ):
                found.append(
                    f"payout #{payout.pk}: transfer {transfer_id} is {transfer.amount} with "
                    f"{transfer.amount_reversed} reversed, we recorded {payout.amount} with "
                    f"{payout.amount_reversed} reversed"
                )
        for transfer_id, payout in ours.items():
            if transfer_id not in transfers:
                found.append(f"payout #{payout.pk}: transfer {transfer_id} unknown to the provider")
        if funding.balance_transaction_id and funding.charge_id:
            from .fees import fee_in_payment_currency  # fees raises issues through this module

            fee = provider.charge_fee(funding.charge_id)
            if fee is None or fee_in_payment_currency(funding, fee) != funding.stripe_fee:
                found.append(
                    f"funding #{funding.pk}: Stripe's fee is "
                    f"{'unknown' if fee is None else fee.fee}, we booked {funding.stripe_fee}"
                )
        for refund in funding.refunds.all():
            # A refund being attempted (again, after staff retried one Stripe failed) is not
            # settled yet: its attempt records what Stripe says.
            if refund.refund_id and refund.status in AGREEING:
                remote = provider.refund_retrieve(refund.refund_id)
                if remote.amount != refund.amount or remote.status not in AGREEING.get(
                    refund.status, ()
                ):
                    found.append(
                        f"refund #{refund.pk}: provider shows {remote.status} {remote.amount}, "
                        f"we recorded {refund.amount}"
                    )
    except PaymentError as exc:
        found.append(f"funding #{funding.pk}: could not be checked ({exc.message})")
    return found


def _reconcile_chargebacks(provider, since: datetime) -> int:
    """Open (or recently closed) chargebacks against the dispute: status and every movement."""
    new = 0
    chargebacks = Chargeback.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=since)
    ).select_related("assignment")
    for chargeback in chargebacks:
        try:
            dispute = provider.dispute_retrieve(chargeback.dispute_id)
        except PaymentError as exc:
            found = [f"chargeback #{chargeback.pk}: could not be checked ({exc.message})"]
        else:
            booked = set(
                LedgerEntry.objects.filter(
                    transaction_id__startswith=f"chargeback:{chargeback.pk}:"
                ).values_list("transaction_id", flat=True)
            )
            found = [
                f"chargeback #{chargeback.pk}: balance transaction {m.id} ({m.amount}, fee "
                f"{m.fee}) is not booked"
                for m in dispute.movements
                if f"chargeback:{chargeback.pk}:{m.id}" not in booked
            ]
            if dispute.status != chargeback.stripe_status:
                found.append(
                    f"chargeback #{chargeback.pk}: the provider shows {dispute.status}, "
                    f"we have {chargeback.stripe_status}"
                )
        for text in found:
            if issue_raise(
                key=f"reconcile:{text[:180]}",
                kind="provider_difference",
                description=text,
                assignment=chargeback.assignment,
            ):
                new += 1
    return new
