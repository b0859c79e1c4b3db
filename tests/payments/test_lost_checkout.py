"""No lost checkout: a payment whose every webhook was lost is fulfilled by the sweep before the
funding deadline, through the same service; reconciliation finds one captured but never
booked after it."""

import datetime as dt

import pytest
import time_machine

from applications import services as application_services
from applications.models import Assignment
from payments import services
from payments.models import Funding, ReconciliationIssue, Refund
from payments.providers import get_provider
from tests.factories import StaffFactory

from .factories import AssignmentFactory, employer_of
from .helpers import assert_ledger_clean, balances

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _paid_without_webhook(provider_name, stripe_api, funding):
    """The employer pays; no event ever reaches us."""
    if provider_name == "stripe":
        stripe_api.complete_checkout(funding.checkout_session_id)
    else:
        get_provider().checkout_pay(funding.checkout_session_id)  # the event is dropped


@pytest.fixture(params=["stripe", "test"])
def provider_name(request):
    if request.param == "stripe":
        request.getfixturevalue("stripe_api")
        return "stripe"
    request.getfixturevalue("test_provider")
    return "test"


@pytest.fixture
def stripe_or_none(provider_name, request):
    return request.getfixturevalue("stripe_api") if provider_name == "stripe" else None


def test_a_paid_session_is_fulfilled_by_the_sweep_before_the_deadline(
    provider_name, stripe_or_none, on_commit
):
    assignment = AssignmentFactory(amount=30000, milestones=[30000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    _paid_without_webhook(provider_name, stripe_or_none, funding)
    # Long before the deadline the sweep leaves it to the webhook.
    with on_commit():
        assert services.payments_sweep().fundings_checked == 0
    funding.refresh_from_db()
    assert funding.status == Funding.Status.OPEN
    # Within the last half hour before the deadline it looks, and fulfils the paid session.
    with (
        time_machine.travel(assignment.funding_due_at - dt.timedelta(minutes=20)),
        on_commit(),
    ):
        assert services.payments_sweep().fundings_checked == 1
    funding.refresh_from_db()
    assignment.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    assert assignment.status == Assignment.Status.ACTIVE
    # The deadline passes harmlessly, and a second look changes nothing.
    with time_machine.travel(assignment.funding_due_at + dt.timedelta(minutes=1)), on_commit():
        assert application_services.assignments_expire_unfunded_due() == 0
        assert services.payments_sweep().fundings_checked == 0
    books = balances(assignment)
    # The fee as charged; with Stripe, its processing fee is booked apart from it.
    assert books.pop("platform_fee") + books.pop("stripe_fees", 0) == 3000
    assert books == {"employer_funding": -33000, "held": 30000}
    assert not Refund.objects.exists()
    assert_ledger_clean()


def test_reconciliation_finds_a_payment_captured_but_never_booked(
    provider_name, stripe_or_none, on_commit
):
    staff = StaffFactory()
    assignment = AssignmentFactory(amount=30000, milestones=[30000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    # The employer paid; its events were lost, and so were the sweeps of the last half hour
    # (the beat was down): at the deadline the assignment was cancelled.
    _paid_without_webhook(provider_name, stripe_or_none, funding)
    with time_machine.travel(assignment.funding_due_at + dt.timedelta(minutes=1)), on_commit():
        application_services.assignments_expire_unfunded_due()
    funding.refresh_from_db()
    assert funding.status == Funding.Status.OPEN
    with on_commit():
        assert services.ledger_reconcile() == 1
    issue = ReconciliationIssue.objects.get(kind="captured_unbooked")
    assert funding.checkout_session_id in issue.description
    assert staff.notifications.filter(kind="payments.issue").exists()
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    # Booked, and given back once, since the assignment is cancelled.
    (refund,) = Refund.objects.all()
    assert refund.amount == funding.total_amount and refund.status == Refund.Status.SUCCEEDED
    assert balances(assignment)["refunds"] == funding.total_amount
    # The next night finds nothing new.
    with on_commit():
        assert services.ledger_reconcile() == 0
    assert_ledger_clean()
