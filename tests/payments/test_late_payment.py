"""A bank debit still processing at the funding deadline that clears afterwards is refunded
exactly once, whatever order the deadline sweep, the payments sweep, the cancellation signal
and the (repeated, late) webhooks run in; the amount comes from the ledger."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from applications import services as application_services
from applications.models import Assignment
from payments import services
from payments.models import Funding, Refund

from .conftest import WEBHOOK_SECRET
from .factories import AssignmentFactory, employer_of
from .helpers import assert_ledger_clean, balances, pay_with_test_provider
from .stripe_standin import event, sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def post_event(client, payload: bytes):
    response = client.post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, WEBHOOK_SECRET),
    )
    assert response.status_code == 200


ORDERS = [
    ("succeeded", "sweep", "signal"),
    ("sweep", "succeeded", "succeeded", "sweep"),
    ("signal", "succeeded", "completed", "sweep", "signal"),
    ("completed", "sweep", "succeeded", "signal"),
]


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_a_bank_debit_clearing_after_the_deadline_is_refunded_once(
    stripe_api, client, on_commit, order
):
    assignment = AssignmentFactory(amount=30000, milestones=[10000, 20000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    # The employer pays by bank debit: the session completes unpaid, the payment processes.
    session = stripe_api.complete_checkout(funding.checkout_session_id, paid=False)
    with on_commit():
        post_event(client, event("checkout.session.completed", session))
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PROCESSING

    later = assignment.funding_due_at + dt.timedelta(minutes=1)
    with time_machine.travel(later), on_commit():
        assert application_services.assignments_expire_unfunded_due() == 1
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CANCELLED
    assert not Refund.objects.exists()  # nothing was paid yet

    stripe_api.settle_async_payment(funding.checkout_session_id)
    paid_session = stripe_api.state.sessions[funding.checkout_session_id]
    steps = {
        "succeeded": lambda: post_event(
            client, event("checkout.session.async_payment_succeeded", paid_session)
        ),
        "completed": lambda: post_event(client, event("checkout.session.completed", paid_session)),
        "sweep": lambda: services.payments_sweep(),
        "signal": lambda: services.assignment_refund_unreleased(assignment=assignment),
    }
    for step in order:
        with time_machine.travel(later + dt.timedelta(minutes=5)), on_commit():
            steps[step]()

    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    refund = Refund.objects.get()
    assert refund.reason == Refund.Reason.LATE_PAYMENT
    assert refund.status == Refund.Status.SUCCEEDED
    assert (refund.amount, refund.fee_amount) == (funding.total_amount, funding.fee_amount)
    # At Stripe: one refund of the whole payment.
    assert [r["amount"] for r in stripe_api.state.refunds.values()] == [funding.total_amount]
    # Held minus released minus refunded: nothing left to give back.
    assert services.assignment_refundable(assignment_id=assignment.pk) == (0, 0)
    assert balances(assignment)["refunds"] == funding.total_amount
    assert_ledger_clean()


def test_the_cancellation_refund_takes_what_the_ledger_holds_not_milestone_lists(
    test_provider, on_commit
):
    """Through the test provider: paid after cancellation, then the sweep and the signal."""
    assignment = AssignmentFactory(amount=30000, milestones=[10000, 20000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    Assignment.objects.filter(pk=assignment.pk).update(
        status=Assignment.Status.CANCELLED, cancelled_at=timezone.now()
    )
    with on_commit():
        pay_with_test_provider(funding)
    with on_commit():
        services.payments_sweep()
        services.assignment_refund_unreleased(assignment=assignment)
    funding.refresh_from_db()
    (refund,) = Refund.objects.all()
    assert refund.amount == funding.total_amount == 33000
    assert balances(assignment)["refunds"] == 33000
    assert balances(assignment).get("held", 0) == 0
    assert_ledger_clean()
