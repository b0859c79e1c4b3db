"""Chargebacks (``charge.dispute.*``) end to end through the Stripe stand-in and signed events:
recorded against the funding, payouts wait while open, the withdrawn amount and the dispute fee
are booked, staff and the employer are told, and a won or lost dispute is settled."""

import pytest
from django.urls import reverse

from notifications.models import Notification
from payments import services
from payments.models import Chargeback, Funding, Payout, ReconciliationIssue
from tests.factories import StaffFactory

from .factories import AssignmentFactory, employer_of
from .helpers import approve, assert_ledger_clean, balances, fund_through_stripe, post_event
from .stripe_standin import event

pytestmark = pytest.mark.django_db


def deliver(client, on_commit, *events):
    with on_commit():
        for name, obj in events:
            assert post_event(client, event(name, obj)).status_code == 200


def test_a_won_chargeback_holds_payouts_books_the_money_and_resumes(stripe_api, client, on_commit):
    staff = StaffFactory()
    assignment = fund_through_stripe(stripe_api, milestones=(20000, 30000))
    funding = Funding.objects.get(assignment=assignment)
    first, second = assignment.milestones.order_by("position")
    with on_commit():
        services.payout_create(milestone=approve(first))

    dispute = stripe_api.open_dispute(funding.charge_id)
    deliver(
        client,
        on_commit,
        ("charge.dispute.created", dispute),
        ("charge.dispute.funds_withdrawn", dispute),
    )
    chargeback = Chargeback.objects.get()
    assert (chargeback.status, chargeback.amount) == (Chargeback.Status.OPEN, 55000)
    assert chargeback.evidence_due_by is not None and chargeback.funding_id == funding.pk
    books = balances(assignment)
    assert (books["chargebacks"], books["dispute_fees"]) == (55000, 1500)
    assert books["platform_losses"] == -56500
    assert_ledger_clean()

    # The next approval's payout waits, and says why.
    with on_commit():
        services.payout_create(milestone=approve(second))
        services.payments_sweep()
    waiting = Payout.objects.get(milestone=second)
    assert waiting.status == Payout.Status.PENDING and waiting.transfer_id is None
    assert "dispute" in waiting.hold_reason
    assert len(stripe_api.state.transfers) == 1

    assert Notification.objects.filter(kind="payments.chargeback").count() == 1
    issue = ReconciliationIssue.objects.get(kind="chargeback")
    assert dispute["id"] in issue.description and "Evidence is due by" in issue.description
    client.force_login(staff)
    page = client.get(reverse("payments:staff_money")).content.decode()
    table = page[page.index('id="chargebacks"') :]
    assert dispute["id"] in table and "needs_response" in table and "<time" in table

    won = stripe_api.close_dispute(dispute["id"], won=True)
    deliver(
        client,
        on_commit,
        ("charge.dispute.funds_reinstated", won),
        ("charge.dispute.closed", won),
        ("charge.dispute.closed", won),  # delivered twice
    )
    chargeback.refresh_from_db()
    assert chargeback.status == Chargeback.Status.WON
    waiting.refresh_from_db()
    assert waiting.status == Payout.Status.PAID and waiting.hold_reason == ""
    books = balances(assignment)
    assert books["chargebacks"] == books["dispute_fees"] == books["platform_losses"] == 0
    assert services.ledger_reconcile() == 0
    assert_ledger_clean()


def test_a_lost_chargeback_uses_what_was_held_and_keeps_payouts_held(stripe_api, client, on_commit):
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    funding = Funding.objects.get(assignment=assignment)
    dispute = stripe_api.open_dispute(funding.charge_id)
    deliver(client, on_commit, ("charge.dispute.created", dispute))
    under_review = stripe_api.update_dispute(dispute["id"], "under_review")
    deliver(client, on_commit, ("charge.dispute.updated", under_review))
    assert Chargeback.objects.get().stripe_status == "under_review"
    lost = stripe_api.close_dispute(dispute["id"], won=False)
    deliver(client, on_commit, ("charge.dispute.closed", lost))

    chargeback = Chargeback.objects.get()
    assert chargeback.status == Chargeback.Status.LOST
    assert (chargeback.held_used, chargeback.fee_used) == (20000, 2000)
    books = balances(assignment)
    assert books["held"] == 0 and books["platform_fee"] == 0
    # The platform's loss is only the dispute fee: nothing had been paid to the student.
    assert books["platform_losses"] == -1500
    assert_ledger_clean()

    with on_commit():
        payout = services.payout_create(milestone=approve(assignment.milestones.get()))
    # Nothing is held any more for the milestone: the payout is made, waits and says why.
    assert payout.status == Payout.Status.PENDING and "took the payment" in payout.hold_reason
    assert not ReconciliationIssue.objects.filter(kind="payout_exceeds_held").exists()
    assert not stripe_api.state.transfers
    assert_ledger_clean()


def test_an_inquiry_withdraws_nothing_until_it_becomes_a_chargeback(stripe_api, client, on_commit):
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    funding = Funding.objects.get(assignment=assignment)
    inquiry = stripe_api.open_dispute(funding.charge_id, inquiry=True)
    deliver(client, on_commit, ("charge.dispute.created", inquiry))
    assert "chargebacks" not in balances(assignment)
    closed = stripe_api.close_dispute(inquiry["id"], won=True)
    deliver(client, on_commit, ("charge.dispute.closed", closed))
    chargeback = Chargeback.objects.get()
    assert (chargeback.status, chargeback.stripe_status) == (
        Chargeback.Status.WON,
        "warning_closed",
    )
    assert_ledger_clean()


def test_a_dispute_on_a_charge_that_is_not_ours_is_raised_not_pinned_on_another_funding(
    stripe_api, client, on_commit
):
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    charge_id = Funding.objects.get(assignment=assignment).charge_id
    other = AssignmentFactory(amount=10000, milestones=[10000])
    unpaid = services.funding_start(assignment=other, actor=employer_of(other))
    assert unpaid.payment_intent_id is None
    dispute = stripe_api.open_dispute(charge_id)
    stripe_api.state.disputes[dispute["id"]]["payment_intent"] = None  # a charge without one
    Funding.objects.filter(assignment=assignment).update(charge_id="ch_elsewhere")
    deliver(client, on_commit, ("charge.dispute.created", dispute))
    assert not Chargeback.objects.exists()
    assert dispute["id"] in ReconciliationIssue.objects.get(kind="chargeback").description


def test_approvals_after_a_lost_chargeback_wait_for_staff_who_can_have_the_platform_pay(
    stripe_api, client, on_commit
):
    """After a lost chargeback a later approval is held, not refused: the student and staff are
    told why; the admin's "Pay the held payouts from the platform" pays it and the later ones,
    the platform putting in what the assignment no longer holds; the books stay right."""
    staff = StaffFactory(is_superuser=True)
    assignment = fund_through_stripe(stripe_api, milestones=(20000, 30000, 10000))
    funding = Funding.objects.get(assignment=assignment)
    first, second, third = assignment.milestones.order_by("position")
    # The first was approved while the dispute was open: held, owed to the student.
    dispute = stripe_api.open_dispute(funding.charge_id)
    deliver(client, on_commit, ("charge.dispute.created", dispute))
    with on_commit():
        services.payout_create(milestone=approve(first))
        services.payments_sweep()
    lost = stripe_api.close_dispute(dispute["id"], won=False)
    deliver(client, on_commit, ("charge.dispute.closed", lost))
    chargeback = Chargeback.objects.get()
    assert chargeback.status == Chargeback.Status.LOST
    # 66000 charged: 40000 still held and the 6000 fee covered it; 20000 was owed already.
    assert (chargeback.held_used, chargeback.fee_used) == (40000, 6000)
    held_first = Payout.objects.get(milestone=first)
    assert "took the payment" in held_first.hold_reason

    # The employer approves the second milestone through the sweep (the usual way).
    approve(second)
    for _ in range(2):  # a second sweep makes nothing new
        with on_commit():
            services.payments_sweep()
    held_second = Payout.objects.get(milestone=second)
    assert held_second.status == Payout.Status.PENDING and held_second.next_attempt_at is None
    assert "took the payment" in held_second.hold_reason
    assert not stripe_api.state.transfers
    issue = ReconciliationIssue.objects.get(key=f"payout:{held_second.pk}:held-after-lost")
    assert issue.kind == "chargeback" and "Pay the held payouts from the platform" in (
        issue.description
    )
    student = assignment.student
    assert student.notifications.filter(kind="payout.held").count() == 1
    client.force_login(student)
    earnings = client.get(reverse("payments:earnings")).content.decode()
    assert "On hold" in earnings and "took the payment for this assignment back" in earnings
    assert_ledger_clean()
    assert services.ledger_reconcile() == 0
    client.force_login(staff)
    money = client.get(reverse("payments:staff_money")).content.decode()
    row = money[money.index('id="chargebacks"') :]
    assert "payouts wait for your decision" in row

    # Staff decide the platform pays the student's approved work.
    client.force_login(staff)
    with on_commit():
        response = client.post(
            reverse("admin:payments_chargeback_changelist"),
            {"action": "pay_held_payouts", "_selected_action": [chargeback.pk]},
        )
    assert response.status_code == 302
    paid = Payout.objects.filter(status=Payout.Status.PAID)
    assert set(paid.values_list("milestone", flat=True)) == {first.pk, second.pk}
    chargeback.refresh_from_db()
    assert chargeback.payouts_released_at is not None and chargeback.platform_covered == 30000
    # A milestone approved afterwards is paid at once, the platform covering it too.
    with on_commit():
        services.payout_create(milestone=approve(third))
    assert Payout.objects.get(milestone=third).status == Payout.Status.PAID
    assert sorted(t["amount"] for t in stripe_api.state.transfers.values()) == [
        10000,
        20000,
        30000,
    ]
    chargeback.refresh_from_db()
    books = balances(assignment)
    assert chargeback.platform_covered == 40000
    assert books["held"] == 0 and books["student_paid"] == 60000
    # The platform's loss: the dispute fee, the payout owed when it was lost, and what it put in.
    assert books["platform_losses"] == -(1500 + 20000 + 40000)
    assert_ledger_clean()
    assert services.ledger_reconcile() == 0
    # Asking again changes nothing.
    with on_commit():
        assert services.chargeback_release_payouts(chargeback=chargeback, actor=staff) == 0
    assert len(stripe_api.state.transfers) == 3


def test_payouts_of_an_open_chargeback_are_not_paid_by_the_platform(stripe_api, client, on_commit):
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    funding = Funding.objects.get(assignment=assignment)
    dispute = stripe_api.open_dispute(funding.charge_id)
    deliver(client, on_commit, ("charge.dispute.created", dispute))
    from marketplace.core.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        services.chargeback_release_payouts(chargeback=Chargeback.objects.get(), actor=None)
