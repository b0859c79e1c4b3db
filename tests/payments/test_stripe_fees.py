"""Stripe's processing fee, read from each charge's balance transaction, is booked to its own
ledger account: the platform fee account is net revenue and the staff page shows gross, Stripe
fees and net (through the Stripe stand-in)."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse

from applications import services as application_services
from payments import services
from payments.models import Funding, LedgerEntry, ReconciliationIssue
from tests.factories import StaffFactory

from .factories import AssignmentFactory, employer_of
from .helpers import assert_ledger_clean, balances, fund_through_stripe, post_event
from .stripe_standin import event

pytestmark = pytest.mark.django_db


def test_the_charge_s_fee_is_booked_once_and_revenue_is_net(stripe_api, client, on_commit):
    with on_commit():
        assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    funding = Funding.objects.get(assignment=assignment)
    expected = stripe_api.processing_fee(22000)  # what the stand-in's balance transaction kept
    assert funding.stripe_fee == expected and funding.balance_transaction_id.startswith("txn_")
    books = balances(assignment)
    assert books["stripe_fees"] == expected
    assert books["platform_fee"] == 2000 - expected
    # A replayed charge.updated books nothing more.
    charge = dict(stripe_api.state.charges[funding.charge_id])
    with on_commit():
        post_event(client, event("charge.updated", charge))
    assert balances(assignment)["stripe_fees"] == expected
    assert services.ledger_reconcile() == 0
    assert_ledger_clean()

    client.force_login(StaffFactory())
    page = client.get(reverse("payments:staff_money")).content.decode()
    revenue = page[page.index('id="revenue"') :]
    for figure in ("20.00 USD", f"{expected / 100:.2f} USD", f"{(2000 - expected) / 100:.2f} USD"):
        assert figure in revenue


def test_a_balance_transaction_made_later_is_booked_from_charge_updated(
    stripe_api, client, on_commit
):
    stripe_api.defer_balance_transactions = True
    with on_commit():
        assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    funding = Funding.objects.get(assignment=assignment)
    assert funding.stripe_fee is None
    assert "stripe_fees" not in balances(assignment)
    assert_ledger_clean()
    charge = stripe_api.make_balance_transaction(funding.charge_id)
    with on_commit():
        assert post_event(client, event("charge.updated", charge)).status_code == 200
    funding.refresh_from_db()
    assert funding.stripe_fee == stripe_api.processing_fee(22000)
    assert_ledger_clean()


def test_stripe_keeps_its_fee_when_the_payment_is_refunded(stripe_api, on_commit):
    with on_commit():
        assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    with on_commit():
        application_services.assignment_cancel(
            assignment=assignment, actor=StaffFactory(), reason="The project was dropped."
        )
    fee = stripe_api.processing_fee(22000)
    books = balances(assignment)
    assert books["refunds"] == 22000
    assert books["stripe_fees"] == fee
    assert books["platform_fee"] == -fee  # the refund gave the whole fee back: a loss
    assert_ledger_clean()


@pytest.mark.parametrize(
    ("currency", "milestone", "rate"),
    [
        # 220.00 EUR charged (200.00 and the 10% fee) is 271.48 USD at 1.234.
        ("EUR", 20000, Decimal("1.234")),
        # 22,000 JPY is 146.52 USD at 0.00666: the rate crosses currencies of other digits.
        ("JPY", 20000, Decimal("0.00666")),
    ],
)
def test_a_fee_taken_in_the_balance_s_currency_is_booked_converted_at_stripe_s_rate(
    stripe_api, settings, on_commit, currency, milestone, rate
):
    settings.SUPPORTED_CURRENCIES = ["USD", currency]
    stripe_api.settlement = ("usd", rate)
    assignment = AssignmentFactory(amount=milestone, milestones=[milestone], currency=currency)
    with on_commit():
        funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
        stripe_api.complete_checkout(funding.checkout_session_id)
        services.funding_confirm(session_id=funding.checkout_session_id)
    funding.refresh_from_db()
    txn = next(iter(stripe_api.state.balance_transactions.values()))
    assert txn["currency"] == "usd" and txn["exchange_rate"] == float(rate)
    charged = funding.total_amount
    # Worked by hand from Stripe's own figures: the fee in USD, back at amount/charged.
    usd_fee = txn["fee"]
    expected = int((Decimal(usd_fee) * charged / txn["amount"]).to_integral_value(ROUND_HALF_UP))
    assert funding.stripe_fee == expected > 0
    books = balances(assignment)
    assert books["stripe_fees"] == expected
    assert books["platform_fee"] == funding.fee_amount - expected
    assert not ReconciliationIssue.objects.filter(kind="fee_currency").exists()
    memo = LedgerEntry.objects.filter(transaction_id=f"funding:{funding.pk}:stripe-fee").first()
    assert f"{usd_fee / 100:.2f} USD" in memo.memo
    assert services.ledger_reconcile() == 0
    assert_ledger_clean()
