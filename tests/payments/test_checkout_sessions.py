"""Checkout sessions: expiring the previous session never leaves it payable next to a new one,
and a paid funding expires any other session still open (through the Stripe stand-in)."""

import datetime as dt

import pytest
from django.utils import timezone

from payments import services
from payments.models import Funding
from payments.providers import get_provider
from payments.providers.base import LineItem
from payments.services import PaymentRefused

from .factories import AssignmentFactory, employer_of
from .helpers import assert_ledger_clean
from .stripe_standin import SessionClosed

pytestmark = pytest.mark.django_db


def open_sessions(stripe_api, funding) -> list[str]:
    return [
        s["id"]
        for s in stripe_api.state.sessions.values()
        if s["metadata"].get("funding_id") == str(funding.pk) and s["status"] == "open"
    ]


def started(stripe_api):
    assignment = AssignmentFactory(amount=20000, milestones=[20000])
    employer = employer_of(assignment)
    funding = services.funding_start(assignment=assignment, actor=employer)
    # Close to its end: the next "pay" replaces it.
    Funding.objects.filter(pk=funding.pk).update(
        checkout_expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    return assignment, employer, Funding.objects.get(pk=funding.pk)


def test_when_expiring_the_old_session_fails_it_stays_the_one_payable_session(stripe_api):
    assignment, employer, funding = started(stripe_api)
    first = funding.checkout_session_id
    # A 500, saved under the call's key: the library's own two retries get it again.
    stripe_api.fail(f"/v1/checkout/sessions/{first}/expire", status=500)
    with pytest.raises(PaymentRefused) as refused:
        services.funding_start(assignment=assignment, actor=employer)
    assert refused.value.code == "provider_unavailable"
    funding.refresh_from_db()
    assert funding.checkout_session_id == first
    assert open_sessions(stripe_api, funding) == [first]
    assert len(stripe_api.calls("POST", "/v1/checkout/sessions")) == 1 + 3  # create + 3 expires

    # Once Stripe answers, the old one is expired before the new one exists.
    funding = services.funding_start(assignment=assignment, actor=employer)
    second = funding.checkout_session_id
    assert second != first
    assert open_sessions(stripe_api, funding) == [second]
    assert funding.checkout_sessions == [first, second]
    with pytest.raises(SessionClosed):
        stripe_api.complete_checkout(first)


def test_an_old_session_paid_while_the_employer_came_back_is_booked_not_replaced(stripe_api):
    assignment, employer, funding = started(stripe_api)
    stripe_api.complete_checkout(funding.checkout_session_id)  # paid; the webhook is late
    funding = services.funding_start(assignment=assignment, actor=employer)
    assert funding.status == Funding.Status.PAID
    creates = [
        c for c in stripe_api.calls("POST", "/v1/checkout/sessions") if c.path.count("/") == 3
    ]
    assert len(creates) == 1
    assert open_sessions(stripe_api, funding) == []
    assert_ledger_clean()


def test_a_paid_funding_expires_every_other_open_session(stripe_api, on_commit):
    assignment, employer, funding = started(stripe_api)
    first = funding.checkout_session_id
    # A second session opened next to the first (two tabs on an earlier version of the page).
    other = get_provider().checkout_create(
        line_items=[LineItem(name="Milestone 1", amount=20000), LineItem(name="Fee", amount=2000)],
        currency="USD",
        transfer_group=funding.transfer_group,
        metadata={"funding_id": str(funding.pk), "assignment_id": str(assignment.pk)},
        customer_email=employer.email,
        success_url="http://t/ok",
        cancel_url="http://t/cancel",
        idempotency_key=f"funding:{funding.pk}:checkout:other",
    )
    Funding.objects.filter(pk=funding.pk).update(checkout_sessions=[first, other.id])
    assert sorted(open_sessions(stripe_api, funding)) == sorted([first, other.id])

    stripe_api.complete_checkout(first)
    with on_commit():
        services.funding_confirm(session_id=first)
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    assert open_sessions(stripe_api, funding) == []
    assert stripe_api.state.sessions[other.id]["status"] == "expired"
    with pytest.raises(SessionClosed):
        stripe_api.complete_checkout(other.id)
    assert_ledger_clean()
