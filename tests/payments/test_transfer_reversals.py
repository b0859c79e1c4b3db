"""Transfer reversals, full and partial (Stripe's ``amount_reversed``), reach the payout, the
ledger and reconciliation (through the Stripe stand-in and signed webhooks)."""

import pytest

from notifications.models import Notification
from payments import services
from payments.models import Payout, ReconciliationIssue

from .helpers import (
    approve,
    assert_ledger_clean,
    balances,
    fund_through_stripe,
    post_event,
)
from .stripe_standin import event

pytestmark = pytest.mark.django_db


def paid_payout(stripe_api, on_commit) -> Payout:
    assignment = fund_through_stripe(stripe_api, milestones=(30000,))
    with on_commit():
        services.payout_create(milestone=approve(assignment.milestones.get()))
    payout = Payout.objects.get(assignment=assignment)
    assert payout.status == Payout.Status.PAID
    return payout


def test_a_partial_then_full_reversal_moves_the_money_back_to_held(stripe_api, client, on_commit):
    payout = paid_payout(stripe_api, on_commit)
    transfer = stripe_api.reverse_transfer(payout.transfer_id, 10000)
    assert transfer["amount_reversed"] == 10000 and transfer["reversed"] is False
    with on_commit():
        assert post_event(client, event("transfer.reversed", transfer)).status_code == 200
        post_event(client, event("transfer.reversed", transfer))  # delivered twice
    payout.refresh_from_db()
    assert (payout.status, payout.amount_reversed) == (Payout.Status.PAID, 10000)
    books = balances(payout.assignment)
    assert (books["student_paid"], books["held"]) == (20000, 10000)
    assert (
        Notification.objects.filter(recipient=payout.student, kind="payout.reversed").count() == 1
    )
    assert ReconciliationIssue.objects.filter(kind="transfer_reversed").count() == 1
    assert_ledger_clean()

    transfer = stripe_api.reverse_transfer(payout.transfer_id)  # the rest
    with on_commit():
        post_event(client, event("transfer.updated", transfer))
    payout.refresh_from_db()
    assert (payout.status, payout.amount_reversed) == (Payout.Status.REVERSED, 30000)
    books = balances(payout.assignment)
    assert (books["student_paid"], books["held"]) == (0, 30000)
    assert ReconciliationIssue.objects.filter(kind="transfer_reversed").count() == 2
    # Reconciliation agrees with Stripe now.
    assert services.ledger_reconcile() == 0
    assert_ledger_clean()


def test_reconciliation_reports_a_reversal_whose_event_never_came(stripe_api, on_commit):
    payout = paid_payout(stripe_api, on_commit)
    stripe_api.reverse_transfer(payout.transfer_id, 5000)
    assert services.ledger_reconcile() == 1
    issue = ReconciliationIssue.objects.get(kind="provider_difference")
    assert "5000 reversed" in issue.description and f"payout #{payout.pk}" in issue.description
    # The late event (or a re-fetch) books it.
    services.payout_transfer_sync(transfer_id=payout.transfer_id)
    payout.refresh_from_db()
    assert payout.amount_reversed == 5000
    assert balances(payout.assignment)["student_paid"] == 25000
    assert_ledger_clean()


def test_the_stand_in_refuses_to_reverse_more_than_is_left(stripe_api, on_commit):
    payout = paid_payout(stripe_api, on_commit)
    stripe_api.reverse_transfer(payout.transfer_id, 29000)
    with pytest.raises(ValueError):
        stripe_api.reverse_transfer(payout.transfer_id, 2000)
