"""The platform fee is exactly the stated percentage of the assignment's total, charged once and
shared out over the milestones by largest remainder (through the Stripe stand-in)."""

import pytest

from applications import services as application_services
from applications.models import Dispute, Milestone
from payments import selectors, services
from payments.models import Funding, Refund
from tests.factories import StaffFactory

from .factories import AssignmentFactory, employer_of
from .helpers import approve, assert_ledger_clean, balances, fund_through_stripe

pytestmark = pytest.mark.django_db

# 10% of each is 333.3, 333.3 and 333.4: summed per milestone that is 999, on the total 1000.
THIRDS = (3333, 3333, 3334)


def test_the_checkout_charges_the_percentage_of_the_total(stripe_api, settings):
    settings.PLATFORM_FEE_PERCENT = 10
    assignment = AssignmentFactory(amount=sum(THIRDS), milestones=list(THIRDS))
    quote = selectors.funding_quote(assignment=assignment)
    assert quote.fee == 1000
    assert [line.fee for line in quote.lines] == [333, 333, 334]
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    assert (funding.fee_amount, funding.total_amount) == (1000, 11000)
    (create,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    charged = [int(item["price_data"]["unit_amount"]) for item in create.params["line_items"]]
    assert charged == [*THIRDS, 1000]
    assert stripe_api.state.sessions[funding.checkout_session_id]["amount_total"] == 11000


def test_a_cancellation_gives_back_exactly_the_fee_shares_of_unreleased_milestones(
    stripe_api, settings, on_commit
):
    settings.PLATFORM_FEE_PERCENT = 10
    assignment = fund_through_stripe(stripe_api, milestones=THIRDS)
    first = assignment.milestones.order_by("position").first()
    with on_commit():
        services.payout_create(milestone=approve(first))
    with on_commit():
        application_services.assignment_cancel(
            assignment=assignment, actor=StaffFactory(), reason="The project was dropped."
        )
    refund = Refund.objects.get(assignment=assignment)
    assert refund.status == Refund.Status.SUCCEEDED
    assert (refund.amount, refund.fee_amount) == (3333 + 3334 + 333 + 334, 333 + 334)
    (stripe_refund,) = stripe_api.state.refunds.values()
    assert stripe_refund["amount"] == 7334
    books = balances(assignment)
    # The platform keeps the fee share of the one milestone that was paid, nothing else.
    assert books["platform_fee"] == 333
    assert books["held"] == 0
    assert books["student_paid"] == 3333
    assert_ledger_clean()


def test_a_split_dispute_splits_the_milestone_s_fee_share(stripe_api, settings, on_commit):
    settings.PLATFORM_FEE_PERCENT = 10
    assignment = fund_through_stripe(stripe_api, milestones=THIRDS)
    milestone = assignment.milestones.order_by("position").last()  # fee share 334
    Milestone.objects.filter(pk=milestone.pk).update(status=Milestone.Status.DISPUTED)
    employer = employer_of(assignment)
    dispute = Dispute.objects.create(milestone=milestone, opened_by=employer, reason="Half done.")
    with on_commit():
        application_services.dispute_resolve(
            dispute=dispute, actor=StaffFactory(), resolution="split", student_amount=1667
        )
    refund = Refund.objects.get(key=f"dispute:{dispute.pk}")
    # 334 shared over 1667 and 1667 (167 each): the employer gets 1667 plus its 167 back.
    assert (refund.amount, refund.fee_amount) == (1667 + 167, 167)
    assert Funding.objects.get(assignment=assignment).fee_amount == 1000
    assert_ledger_clean()
