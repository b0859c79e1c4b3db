"""Refund retries that can succeed: Stripe replays a key's first answer for 24 hours, a 500
included, so each attempt at a refund has its own (namespaced) key, and every attempt after the
first looks for a refund an earlier one made (the payment intent's refunds, by metadata) before
creating one: a retry never refunds twice."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from applications import services as application_services
from payments import services
from payments.models import Funding, Refund
from tests.factories import StaffFactory

from .factories import AssignmentFactory, employer_of
from .helpers import assert_ledger_clean, balances, fund_through_stripe, pay_with_test_provider

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def cancel(assignment, on_commit) -> Refund:
    with on_commit():
        application_services.assignment_cancel(
            assignment=assignment, actor=StaffFactory(), reason="The project was dropped."
        )
    return Refund.objects.get(assignment=assignment)


def retry_later(refund: Refund, on_commit) -> Refund:
    """The sweep once the refund's backoff has passed."""
    refund.refresh_from_db()
    with time_machine.travel(refund.next_attempt_at + dt.timedelta(seconds=1)), on_commit():
        assert services.payments_sweep().refunds_enqueued == 1
    refund.refresh_from_db()
    return refund


def test_a_refund_refused_with_a_500_succeeds_on_retry_with_a_new_key(stripe_api, on_commit):
    assignment = fund_through_stripe(stripe_api, milestones=(10000, 20000))
    # The refund endpoint fails before doing anything; Stripe saves that 500 under the key.
    stripe_api.fail("/v1/refunds", status=500)
    refund = cancel(assignment, on_commit)
    assert refund.status == Refund.Status.PENDING and refund.attempts == 1
    assert not stripe_api.state.refunds
    refund = retry_later(refund, on_commit)
    assert refund.status == Refund.Status.SUCCEEDED
    keys = [c.idempotency_key for c in stripe_api.calls("POST", "/v1/refunds")]
    # The library retries a 500 itself with the same key (replayed); our retry has a new one.
    assert set(keys) == {f"test:refund:{refund.pk}:1", f"test:refund:{refund.pk}:2"}
    (made,) = stripe_api.state.refunds.values()
    assert made["id"] == refund.refund_id and made["amount"] == refund.amount
    assert balances(assignment)["refunds"] == refund.amount
    assert_ledger_clean()


def test_a_refund_made_although_stripe_answered_500_is_found_not_made_again(stripe_api, on_commit):
    assignment = fund_through_stripe(stripe_api, milestones=(10000, 20000))
    # Stripe made the refund, and the answer (saved under the key) is still a 500.
    stripe_api.fail("/v1/refunds", status=500, created=True)
    refund = cancel(assignment, on_commit)
    assert refund.status == Refund.Status.PENDING
    assert len(stripe_api.state.refunds) == 1
    refund = retry_later(refund, on_commit)
    assert refund.status == Refund.Status.SUCCEEDED
    # Looked up on the payment intent, not created a second time.
    (made,) = stripe_api.state.refunds.values()
    assert refund.refund_id == made["id"]
    assert len({c.idempotency_key for c in stripe_api.calls("POST", "/v1/refunds")}) == 1
    (lookup,) = stripe_api.calls("GET", "/v1/refunds")
    funding = Funding.objects.get(assignment=assignment)
    assert lookup.params["payment_intent"] == funding.payment_intent_id
    assert balances(assignment)["refunds"] == refund.amount
    assert_ledger_clean()


def test_a_refund_retried_by_staff_after_stripe_failed_it_is_refunded_once_more(
    stripe_api, client, on_commit
):
    """Stripe failed the first refund (the money came back): the staff retry makes a new one,
    while a late ``refund.failed`` of the old one changes nothing."""
    from .helpers import post_event
    from .stripe_standin import event

    assignment = fund_through_stripe(stripe_api, milestones=(10000, 20000))
    stripe_api.answer_refunds("pending")
    refund = cancel(assignment, on_commit)
    first_id = refund.refund_id
    failed = stripe_api.settle_refund(first_id, "failed", failure_reason="lost_or_stolen_card")
    with on_commit():
        post_event(client, event("refund.failed", failed))
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    with on_commit():
        services.refund_retry(refund=refund, actor=StaffFactory())
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.refund_id != first_id
    assert [r["status"] for r in stripe_api.state.refunds.values()] == ["failed", "succeeded"]
    # The old refund's failure arrives again: it is not this refund's any more.
    with on_commit():
        post_event(client, event("refund.failed", failed))
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert balances(assignment)["refunds"] == refund.amount
    assert_ledger_clean()


def test_the_test_provider_replays_a_failed_refund_and_the_next_key_succeeds(
    test_provider, on_commit
):
    from payments.providers.test import failure_set

    assignment = AssignmentFactory(amount=30000, milestones=[10000, 20000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    with on_commit():
        pay_with_test_provider(funding)
    failure_set(mode="unavailable", times=1)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        refund = cancel(assignment, on_commit)
    assert refund.status == Refund.Status.PENDING
    refund = retry_later(refund, on_commit)
    assert refund.status == Refund.Status.SUCCEEDED and refund.attempt_serial == 2
    assert balances(assignment)["refunds"] == refund.amount
    assert_ledger_clean()
