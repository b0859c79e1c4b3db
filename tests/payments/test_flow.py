"""The whole money flow with the test provider: fund, release, refund; the ledger balances."""

import pytest

from applications.models import Assignment, Milestone
from notifications.models import Notification, Reminder
from payments import services
from payments.models import Funding, LedgerEntry, Payout, WebhookEvent

from .factories import AssignmentFactory, employer_of
from .helpers import approve, assert_ledger_clean, balances, pay_with_test_provider, ready_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment():
    return AssignmentFactory(amount=50000, milestones=[20000, 30000])


def fund(assignment, on_commit):
    employer = employer_of(assignment)
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
    funding.refresh_from_db()
    return funding


def test_funding_through_the_test_checkout_activates_the_assignment(
    test_provider, assignment, on_commit
):
    employer = employer_of(assignment)
    funding = services.funding_start(assignment=assignment, actor=employer)
    assert funding.status == Funding.Status.OPEN
    assert funding.checkout_url == f"/payments/test-mode/checkout/{funding.checkout_session_id}/"
    assert (funding.amount, funding.fee_amount, funding.total_amount) == (50000, 5000, 55000)
    # Starting again while the session is open gives the same session.
    again = services.funding_start(assignment=assignment, actor=employer)
    assert again.checkout_session_id == funding.checkout_session_id

    with on_commit():
        event = pay_with_test_provider(funding)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    funding.refresh_from_db()
    assignment.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    assert funding.charge_id and funding.payment_intent_id
    assert assignment.status == Assignment.Status.ACTIVE
    assert balances(assignment) == {"employer_funding": -55000, "held": 50000, "platform_fee": 5000}
    assert_ledger_clean()


def test_approved_milestone_is_paid_out_once_and_marked_paid(test_provider, assignment, on_commit):
    fund(assignment, on_commit)
    with on_commit():
        ready_account(assignment.student)
    first = assignment.milestones.order_by("position").first()
    approve(first)
    with on_commit():
        services.payments_sweep()
        services.payments_sweep()  # a second sweep finds nothing more to do
    payout = Payout.objects.get(milestone=first)
    assert payout.status == Payout.Status.PAID
    assert payout.transfer_id.startswith("tr_test_")
    first.refresh_from_db()
    assert first.status == Milestone.Status.PAID
    assert Payout.objects.count() == 1
    assert balances(assignment) == {
        "employer_funding": -55000,
        "held": 30000,
        "platform_fee": 5000,
        "student_payable": 0,
        "student_paid": 20000,
    }
    assert (
        Notification.objects.filter(recipient=assignment.student, kind="payout.paid").count() == 1
    )
    assert_ledger_clean()


def test_payout_waits_for_the_payout_account_and_is_never_lost(
    test_provider, assignment, on_commit
):
    fund(assignment, on_commit)
    milestone = approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    payout = Payout.objects.get(milestone=milestone)
    assert payout.status == Payout.Status.PENDING and payout.waiting_for_account
    assert Notification.objects.filter(
        recipient=assignment.student, kind="payout.account_needed"
    ).exists()
    reminder = Reminder.objects.get(
        recipient=assignment.student, key__contains=f":payout:{payout.pk}"
    )
    # The sweep leaves it alone while the account is missing.
    with on_commit():
        services.payments_sweep()
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PENDING

    with on_commit():
        ready_account(assignment.student)
    payout.refresh_from_db()
    reminder.refresh_from_db()
    assert payout.status == Payout.Status.PAID and not payout.waiting_for_account
    assert reminder.cancelled_at is not None
    assert_ledger_clean()


def test_cancellation_refunds_what_was_not_released(test_provider, assignment, on_commit):
    fund(assignment, on_commit)
    with on_commit():
        ready_account(assignment.student)
    first, second = assignment.milestones.order_by("position")
    approve(first)
    with on_commit():
        services.payments_sweep()
    Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.CANCELLED)
    assignment.refresh_from_db()
    with on_commit():
        refund = services.assignment_refund_unreleased(assignment=assignment)
        again = services.assignment_refund_unreleased(assignment=assignment)
    assert again.pk == refund.pk
    refund.refresh_from_db()
    # The second milestone (30000) and its fee share (3000) go back; the first was paid.
    assert (refund.amount, refund.fee_amount, refund.status) == (33000, 3000, "succeeded")
    assert balances(assignment) == {
        "employer_funding": -55000,
        "held": 0,
        "platform_fee": 2000,
        "student_payable": 0,
        "student_paid": 20000,
        "refunds": 33000,
    }
    assert_ledger_clean()
    assert LedgerEntry.objects.filter(transaction_id=f"refund:{refund.pk}").count() == 3


def test_the_student_is_reminded_once_to_set_up_payouts_before_the_first_milestone_is_due(
    test_provider, assignment, on_commit, settings
):
    import datetime as dt

    from notifications.services import reminders_send_due

    settings.REMINDER_PAYOUT_ACCOUNT_BEFORE = dt.timedelta(hours=72)
    fund(assignment, on_commit)
    first_due = assignment.milestones.order_by("due_at").first().due_at
    reminder = Reminder.objects.get(recipient=assignment.student, kind="reminder.payout_account")
    assert reminder.send_at == first_due - dt.timedelta(hours=72)
    assert reminder.expires_at == first_due
    assert reminder.link == "/payments/payout-account/"

    # A second funded assignment of the same student does not remind again.
    second = AssignmentFactory(application__student=assignment.student, milestones=[50000])
    fund(second, on_commit)
    assert (
        Reminder.objects.filter(
            recipient=assignment.student, kind="reminder.payout_account"
        ).count()
        == 1
    )

    # Sent once when due; a later sweep sends nothing more.
    with on_commit():
        assert reminders_send_due(now=reminder.send_at + dt.timedelta(minutes=1)) == 1
        assert reminders_send_due(now=reminder.send_at + dt.timedelta(hours=1)) == 0
    notes = Notification.objects.filter(
        recipient=assignment.student, kind="reminder.payout_account"
    )
    assert [n.title for n in notes] == ["Set up your payout account before “Milestone 1” is due"]


def test_no_payout_account_reminder_when_the_account_is_ready_or_becomes_ready(
    test_provider, assignment, on_commit
):
    other = AssignmentFactory(milestones=[50000])
    with on_commit():
        ready_account(other.student)
    fund(other, on_commit)
    assert not Reminder.objects.filter(
        recipient=other.student, kind="reminder.payout_account"
    ).exists()

    fund(assignment, on_commit)
    reminder = Reminder.objects.get(recipient=assignment.student, kind="reminder.payout_account")
    with on_commit():
        ready_account(assignment.student)
    reminder.refresh_from_db()
    assert reminder.cancelled_at is not None
