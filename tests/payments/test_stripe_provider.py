"""The Stripe provider, with the real ``stripe`` library, against the local stand-in of the API.

The whole flow goes through our services and the stand-in records every request, so these tests
pin the parameters and idempotency keys we send, and what each kind of failure turns into.
"""

import pytest
from django.db import transaction

from applications.models import Assignment
from payments import services
from payments.models import Funding, Payout, PayoutAccount, Refund
from payments.providers import get_provider
from payments.providers.base import (
    PaymentActionRequired,
    PaymentDeclined,
    ProviderError,
    ProviderUnavailable,
)
from payments.providers.stripe import from_stripe_amount, to_stripe_amount
from payments.services import PaymentRefused

from .conftest import WEBHOOK_SECRET
from .factories import AssignmentFactory, employer_of
from .helpers import approve, assert_ledger_clean, balances
from .stripe_standin import event, sign

pytestmark = pytest.mark.django_db


def post_event(client, payload: bytes):
    return client.post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, WEBHOOK_SECRET),
    )


@pytest.fixture
def funded(stripe_api, client, on_commit):
    """An assignment funded through Checkout and the signed webhook, and a ready student."""
    assignment = AssignmentFactory(amount=50000, milestones=[20000, 30000])
    employer = employer_of(assignment)
    funding = services.funding_start(assignment=assignment, actor=employer)
    session = stripe_api.complete_checkout(funding.checkout_session_id)
    with on_commit():
        assert post_event(client, event("checkout.session.completed", session)).status_code == 200
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    url = services.payout_account_onboarding_url(
        country="US",
        student=assignment.student,
        refresh_url="http://t/refresh",
        return_url="http://t/return",
    )
    assert url.startswith("https://connect.stripe.test/setup/")
    account = PayoutAccount.objects.get(student=assignment.student)
    remote = stripe_api.set_account(account.account_id, ready=True)
    with on_commit():
        post_event(client, event("account.updated", remote, account=account.account_id))
    account.refresh_from_db()
    assert account.is_ready
    return assignment, funding


def test_the_whole_flow_sends_the_right_parameters_and_idempotency_keys(
    funded, stripe_api, on_commit
):
    assignment, funding = funded
    # Connected account: Express, transfers requested, our id in metadata, keyed by student.
    (account_call,) = stripe_api.calls("POST", "/v1/accounts")
    assert account_call.params["type"] == "express"
    assert account_call.params["capabilities"] == {"transfers": {"requested": "true"}}
    assert account_call.params["metadata"] == {"student_id": str(assignment.student_id)}
    assert account_call.idempotency_key == f"test:payout-account:{assignment.student_id}"
    (link_call,) = stripe_api.calls("POST", "/v1/account_links")
    assert link_call.params["type"] == "account_onboarding"
    assert link_call.params["return_url"] == "http://t/return"
    assert link_call.params["refresh_url"] == "http://t/refresh"
    # Checkout on the platform account: milestones plus fee, transfer group, our ids.
    (checkout,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert checkout.idempotency_key == f"test:funding:{funding.pk}:checkout:1"
    assert checkout.params["mode"] == "payment"
    assert [
        (i["price_data"]["product_data"]["name"], i["price_data"]["unit_amount"])
        for i in checkout.params["line_items"]
    ] == [("Milestone 1", "20000"), ("Milestone 2", "30000"), ("Platform fee (10%)", "5000")]
    assert {i["price_data"]["currency"] for i in checkout.params["line_items"]} == {"usd"}
    assert checkout.params["payment_intent_data"]["transfer_group"] == f"assignment_{assignment.pk}"
    assert checkout.params["metadata"] == {
        "funding_id": str(funding.pk),
        "assignment_id": str(assignment.pk),
        "employer_id": str(assignment.posting.employer_id),
    }
    assert checkout.params["success_url"].endswith(
        f"/payments/fundings/{funding.pk}/return/?session_id={{CHECKOUT_SESSION_ID}}"
    )
    # Fulfilment re-fetched the session with its payment intent (for the charge).
    fetches = stripe_api.calls("GET", f"/v1/checkout/sessions/{funding.checkout_session_id}")
    assert fetches and fetches[0].params["expand"] == ["payment_intent"]
    assert funding.charge_id.startswith("ch_")

    first = assignment.milestones.order_by("position").first()
    approve(first)
    with on_commit():
        services.payments_sweep()
    payout = Payout.objects.get(milestone=first)
    assert payout.status == Payout.Status.PAID
    (transfer,) = stripe_api.calls("POST", "/v1/transfers")
    assert transfer.idempotency_key == f"test:payout:{payout.pk}:1"
    account = PayoutAccount.objects.get(student=assignment.student)
    assert transfer.params == {
        "amount": "20000",
        "currency": "usd",
        "destination": account.account_id,
        "source_transaction": funding.charge_id,
        "transfer_group": f"assignment_{assignment.pk}",
        "metadata": {
            "payout_id": str(payout.pk),
            "milestone_id": str(first.pk),
            "assignment_id": str(assignment.pk),
        },
    }
    assert payout.transfer_id in stripe_api.state.transfers

    Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.CANCELLED)
    with on_commit():
        refund = services.assignment_refund_unreleased(assignment=assignment)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    (refund_call,) = stripe_api.calls("POST", "/v1/refunds")
    assert refund_call.idempotency_key == f"test:refund:{refund.pk}:1"
    assert refund_call.params["payment_intent"] == funding.payment_intent_id
    assert refund_call.params["amount"] == "33000"
    assert balances(assignment)["refunds"] == 33000
    # The nightly reconciliation agrees with the provider.
    assert services.ledger_reconcile() == 0
    assert_ledger_clean()


def _release_one(funded, on_commit) -> Payout:
    assignment, _ = funded
    milestone = approve(assignment.milestones.order_by("position").first())
    with on_commit():
        services.payments_sweep()
    return Payout.objects.get(milestone=milestone)


def test_declined_402_fails_the_payout_at_once_without_retries(funded, stripe_api, on_commit):
    stripe_api.fail("/v1/transfers", status=402)
    payout = _release_one(funded, on_commit)
    assert payout.status == Payout.Status.FAILED
    assert payout.attempts == 1
    assert "CardError 402 card_declined" in payout.last_error
    # The library does not retry a 402; neither do we.
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 1
    assert funded[0].student.notifications.filter(kind="payout.failed").exists()


def test_rate_limited_429_is_transient_retried_later(funded, stripe_api, on_commit):
    stripe_api.fail("/v1/transfers", status=429)
    payout = _release_one(funded, on_commit)
    assert payout.status == Payout.Status.PENDING
    assert payout.attempts == 1 and "RateLimitError 429" in payout.last_error
    assert payout.next_attempt_at is not None
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 1
    assert not stripe_api.state.transfers


def test_a_500_is_replayed_for_its_key_so_the_next_attempt_has_a_new_key_and_looks_first(
    funded, stripe_api, on_commit
):
    # Stripe saved the 500 under the key: the library's own retries get the same 500 back.
    stripe_api.fail("/v1/transfers", status=500)
    payout = _release_one(funded, on_commit)
    calls = stripe_api.calls("POST", "/v1/transfers")
    assert len(calls) == 3  # max_network_retries=2
    assert {c.idempotency_key for c in calls} == {f"test:payout:{payout.pk}:1"}
    assert payout.status == Payout.Status.PENDING and "APIError 500" in payout.last_error
    # The same key would answer 500 for 24 hours; the next attempt has its own key, after
    # looking for a transfer the first one may have made.
    services.payout_release(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.attempts == 2
    assert stripe_api.calls("POST", "/v1/transfers")[-1].idempotency_key == (
        f"test:payout:{payout.pk}:2"
    )
    assert len(stripe_api.calls("GET", "/v1/transfers")) == 1
    assert len(stripe_api.state.transfers) == 1
    assert_ledger_clean()


def test_a_500_after_the_transfer_was_made_is_found_by_the_next_attempt_not_paid_twice(
    funded, stripe_api, on_commit
):
    stripe_api.fail("/v1/transfers", status=500, created=True)
    payout = _release_one(funded, on_commit)
    assert payout.status == Payout.Status.PENDING
    (made,) = stripe_api.state.transfers
    services.payout_release(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.transfer_id == made
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 3  # the first attempt only
    assert len(stripe_api.state.transfers) == 1
    assert_ledger_clean()


def test_a_timeout_is_transient(funded, stripe_api, settings, on_commit):
    settings.STRIPE_TIMEOUT = 0.3
    stripe_api.delay("/v1/transfers", seconds=0.8, times=3)
    payout = _release_one(funded, on_commit)
    assert payout.status == Payout.Status.PENDING
    assert "APIConnectionError" in payout.last_error
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 3


def test_provider_errors_when_starting_a_funding_are_clear_and_change_nothing(stripe_api, settings):
    assignment = AssignmentFactory()
    employer = employer_of(assignment)
    stripe_api.fail("/v1/checkout/sessions", status=500)  # saved: the library's retries get it
    with pytest.raises(PaymentRefused) as error:
        services.funding_start(assignment=assignment, actor=employer)
    assert error.value.code == "provider_unavailable" and error.value.status_code == 503
    funding = Funding.objects.get(assignment=assignment)
    assert funding.checkout_session_id is None and funding.status == Funding.Status.OPEN
    # Trying again works: a new attempt with a new key (the refused key replays its 500).
    funding = services.funding_start(assignment=assignment, actor=employer)
    assert funding.checkout_session_id in stripe_api.state.sessions
    keys = [c.idempotency_key for c in stripe_api.calls("POST", "/v1/checkout/sessions")]
    assert keys == [f"test:funding:{funding.pk}:checkout:1"] * 3 + [
        f"test:funding:{funding.pk}:checkout:2"
    ]
    settings.STRIPE_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(PaymentRefused) as error:
        services.payout_account_onboarding_url(
            country="US",
            student=assignment.student,
            refresh_url="http://t/r",
            return_url="http://t/r",
        )
    assert error.value.code == "provider_error"


def test_errors_are_translated_for_the_caller(stripe_api):
    provider = get_provider()
    stripe_api.fail("/v1/refunds", status=402)
    with pytest.raises(PaymentDeclined):
        provider.refund_create(
            payment_intent_id="pi_x", amount=1, currency="USD", metadata={}, idempotency_key="k1"
        )
    stripe_api.fail("/v1/refunds", status=429)
    with pytest.raises(ProviderUnavailable):
        provider.refund_create(
            payment_intent_id="pi_x", amount=1, currency="USD", metadata={}, idempotency_key="k2"
        )
    stripe_api.fail(
        "/v1/refunds",
        status=402,
        body={"type": "card_error", "code": "authentication_required", "message": "3DS"},
    )
    with pytest.raises(PaymentActionRequired):
        provider.refund_create(
            payment_intent_id="pi_x", amount=1, currency="USD", metadata={}, idempotency_key="k4"
        )
    with pytest.raises(ProviderError) as error:  # 404 resource_missing: our fault
        provider.refund_create(
            payment_intent_id="pi_x", amount=1, currency="USD", metadata={}, idempotency_key="k3"
        )
    assert error.value.code == "resource_missing"


def test_amounts_are_converted_for_stripe_s_special_currencies(stripe_api):
    assert to_stripe_amount(1500, "USD") == 1500
    assert to_stripe_amount(1500, "JPY") == 1500  # zero-decimal both in ISO and at Stripe
    assert to_stripe_amount(1500, "ISK") == 150000  # ISO zero-decimal, Stripe two-decimal
    assert from_stripe_amount(150000, "isk") == 1500
    assert to_stripe_amount(1230, "KWD") == 1230
    with pytest.raises(ProviderError):
        to_stripe_amount(1234, "KWD")  # Stripe needs the last of three decimals to be 0
    assignment = AssignmentFactory(amount=9000, currency="ISK", milestones=[9000])
    with transaction.atomic():
        services.funding_start(assignment=assignment, actor=employer_of(assignment))
    (checkout,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert checkout.params["line_items"][0]["price_data"] == {
        "currency": "isk",
        "unit_amount": "900000",
        "product_data": {"name": "Milestone 1"},
    }
    # Read back in our units.
    funding = Funding.objects.get(assignment=assignment)
    assert get_provider().checkout_retrieve(funding.checkout_session_id).amount_total == 9900
