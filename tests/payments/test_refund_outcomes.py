"""Refunds are done only when Stripe says so: a refund answered ``pending`` or ``requires_action``
waits (no booking, no "refunded" message) until ``refund.updated``/``refund.failed`` or the
sweep's re-fetch moves it; a failure tells staff and raises an issue."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from applications import services as application_services
from notifications.models import Notification
from payments import services
from payments.models import Funding, LedgerEntry, ReconciliationIssue, Refund
from payments.services.refunds import SUBMITTED_RECHECK
from tests.factories import StaffFactory

from .helpers import assert_ledger_clean, balances, fund_through_stripe, post_event
from .stripe_standin import event

pytestmark = pytest.mark.django_db


def cancel(assignment, on_commit) -> Refund:
    with on_commit():
        application_services.assignment_cancel(
            assignment=assignment, actor=StaffFactory(), reason="The project was dropped."
        )
    return Refund.objects.get(assignment=assignment)


def refunded_messages(assignment) -> int:
    employer = Funding.objects.get(assignment=assignment).created_by
    return Notification.objects.filter(recipient=employer, kind="payments.refunded").count()


@pytest.mark.parametrize("answer", ["pending", "requires_action"])
def test_a_refund_stripe_left_waiting_is_not_booked_until_refund_updated_says_succeeded(
    stripe_api, client, on_commit, answer
):
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    stripe_api.answer_refunds(answer)
    refund = cancel(assignment, on_commit)
    assert refund.status == Refund.Status.SUBMITTED
    assert refund.provider_status == answer and refund.refund_id
    assert not LedgerEntry.objects.filter(transaction_id__startswith="refund:").exists()
    assert refunded_messages(assignment) == 0
    assert_ledger_clean()

    # A replay of the pending state changes nothing.
    waiting = dict(stripe_api.state.refunds[refund.refund_id])
    with on_commit():
        assert post_event(client, event("refund.updated", waiting)).status_code == 200
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUBMITTED

    settled = stripe_api.settle_refund(refund.refund_id, "succeeded")
    with on_commit():
        assert post_event(client, event("refund.updated", settled)).status_code == 200
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert balances(assignment)["refunds"] == 22000
    assert refunded_messages(assignment) == 1
    assert_ledger_clean()


def test_refund_failed_fails_it_tells_staff_and_raises_an_issue(stripe_api, client, on_commit):
    staff = StaffFactory()
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    stripe_api.answer_refunds("pending")
    refund = cancel(assignment, on_commit)
    failed = stripe_api.settle_refund(
        refund.refund_id, "failed", failure_reason="lost_or_stolen_card"
    )
    with on_commit():
        assert post_event(client, event("refund.failed", failed)).status_code == 200
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert refund.failure_reason == "lost_or_stolen_card"
    issue = ReconciliationIssue.objects.get(kind="refund_failed")
    assert "lost_or_stolen_card" in issue.description and issue.assignment_id == assignment.pk
    assert Notification.objects.filter(recipient=staff, kind="payments.issue").exists()
    assert refunded_messages(assignment) == 0
    books = balances(assignment)
    assert books.get("refunds", 0) == 0 and books["held"] == 20000
    # The staff page lists it for action.
    client.force_login(staff)
    page = client.get(reverse("payments:staff_money"))
    assert page.status_code == 200
    assert "lost_or_stolen_card" in page.content.decode()
    assert_ledger_clean()


def test_a_refund_failing_after_it_succeeded_is_unbooked(stripe_api, client, on_commit):
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    refund = cancel(assignment, on_commit)
    assert refund.status == Refund.Status.SUCCEEDED
    assert balances(assignment)["refunds"] == 22000
    failed = stripe_api.settle_refund(refund.refund_id, "failed")
    with on_commit():
        post_event(client, event("refund.failed", failed))
        post_event(client, event("refund.failed", failed))  # delivered twice
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    books = balances(assignment)
    assert books["refunds"] == 0 and books["held"] == 20000 and books["platform_fee"] == 2000
    assert ReconciliationIssue.objects.filter(kind="refund_failed").count() == 1
    assert_ledger_clean()


def test_without_the_webhook_the_sweep_fetches_a_waiting_refund_again(stripe_api, on_commit):
    assignment = fund_through_stripe(stripe_api, milestones=(20000,))
    stripe_api.answer_refunds("pending")
    refund = cancel(assignment, on_commit)
    with on_commit():
        services.payments_sweep()  # not due yet: nothing asked
    assert not stripe_api.calls("GET", f"/v1/refunds/{refund.refund_id}")
    stripe_api.settle_refund(refund.refund_id, "succeeded")
    with (
        time_machine.travel(timezone.now() + SUBMITTED_RECHECK + dt.timedelta(minutes=1)),
        on_commit(),
    ):
        assert services.payments_sweep().refunds_enqueued == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert len(stripe_api.calls("POST", "/v1/refunds")) == 1
    assert_ledger_clean()
