"""``/webhooks/stripe/`` with real signatures made from a test secret."""

import time

import pytest

from applications.models import Assignment
from payments import services
from payments.models import Funding, LedgerEntry, Payout, PayoutAccount, WebhookEvent

from .conftest import WEBHOOK_SECRET
from .factories import AssignmentFactory, employer_of
from .helpers import approve, assert_ledger_clean
from .stripe_standin import event, sign

pytestmark = pytest.mark.django_db
URL = "/webhooks/stripe/"


def post(client, payload: bytes, signature: str | None = None):
    headers = {}
    if signature is not False:
        headers["HTTP_STRIPE_SIGNATURE"] = signature or sign(payload, WEBHOOK_SECRET)
    return client.post(URL, data=payload, content_type="application/json", **headers)


@pytest.fixture
def started(stripe_api):
    assignment = AssignmentFactory(amount=30000, milestones=[30000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    return assignment, funding


def test_a_valid_event_is_stored_and_handled_after_commit(client, stripe_api, started, on_commit):
    assignment, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id)
    payload = event("checkout.session.completed", session, event_id="evt_valid_1")
    with on_commit() as callbacks:
        response = post(client, payload)
        assert response.status_code == 200
        assert response.json() == {"received": True, "duplicate": False}
        # Stored at once, handled only after the commit.
        row = WebhookEvent.objects.get(event_id="evt_valid_1")
        assert row.status == WebhookEvent.Status.RECEIVED and row.object_id == session["id"]
    assert len(callbacks) >= 1
    row.refresh_from_db()
    assert row.status == WebhookEvent.Status.PROCESSED
    funding.refresh_from_db()
    assignment.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    assert assignment.status == Assignment.Status.ACTIVE


def test_a_forged_signature_is_refused(client, stripe_api, started):
    _, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id)
    payload = event("checkout.session.completed", session)
    assert post(client, payload, sign(payload, "whsec_someone_else")).status_code == 400
    # A body changed after signing is refused too.
    tampered = payload.replace(b'"livemode": false', b'"livemode": true')
    assert post(client, tampered, sign(payload, WEBHOOK_SECRET)).status_code == 400
    assert post(client, payload, signature=False).status_code == 400
    assert not WebhookEvent.objects.exists()
    funding.refresh_from_db()
    assert funding.status == Funding.Status.OPEN


def test_a_stale_timestamp_is_refused(client, stripe_api, started):
    _, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id)
    payload = event("checkout.session.completed", session)
    old = sign(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 10 * 60)
    assert post(client, payload, old).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_duplicate_is_answered_200_and_handled_once(client, stripe_api, started, on_commit):
    _, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id)
    payload = event("checkout.session.completed", session, event_id="evt_dup")
    with on_commit():
        first = post(client, payload)
    fetches = len(stripe_api.calls("GET", "/v1/checkout/sessions/"))
    with on_commit():
        second = post(client, payload)
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.filter(event_id="evt_dup").count() == 1
    # The duplicate did nothing: no second fetch, one booking.
    assert len(stripe_api.calls("GET", "/v1/checkout/sessions/")) == fetches
    assert LedgerEntry.objects.filter(transaction_id=f"funding:{funding.pk}").count() == 3


def test_an_unknown_type_is_answered_200_and_ignored(client, stripe_api, on_commit):
    payload = event("invoice.finalized", {"id": "in_123", "object": "invoice"})
    with on_commit():
        response = post(client, payload)
    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert row.status == WebhookEvent.Status.IGNORED and row.type == "invoice.finalized"


def test_a_transfer_event_before_the_funding_event_is_harmless(
    client, stripe_api, started, on_commit
):
    """Events come in any order: a transfer we know nothing of yet is left alone, and the
    funding event that arrives after it is handled as usual."""
    assignment, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id)
    account = stripe_api._account_create({"type": "express"})[1]
    stripe_api.set_account(account["id"], ready=True)
    transfer = stripe_api._transfer_create(
        {
            "amount": "30000",
            "currency": "usd",
            "destination": account["id"],
            "transfer_group": f"assignment_{assignment.pk}",
            "metadata": {"payout_id": "999999"},
        }
    )[1]
    with on_commit():
        assert post(client, event("transfer.created", transfer)).status_code == 200
    transfer_row = WebhookEvent.objects.get(type="transfer.created")
    assert transfer_row.status == WebhookEvent.Status.PROCESSED
    assert "no payout of ours" in transfer_row.note
    with on_commit():
        assert post(client, event("checkout.session.completed", session)).status_code == 200
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    assert not Payout.objects.exists()
    assert_ledger_clean()


def test_a_transfer_event_records_a_payout_whose_worker_died(
    client, stripe_api, started, on_commit, django_capture_on_commit_callbacks
):
    """The transfer exists at the provider but our worker died before recording it: the
    ``transfer.created`` event, re-fetched, records it."""
    assignment, funding = started
    with on_commit():
        session = stripe_api.complete_checkout(funding.checkout_session_id)
        post(client, event("checkout.session.completed", session))
    account = PayoutAccount.objects.create(
        student=assignment.student, provider="stripe", account_id="acct_x", status="ready"
    )
    stripe_api.state.accounts["acct_x"] = {"id": "acct_x", "capabilities": {"transfers": "active"}}
    milestone = approve(assignment.milestones.get())
    with django_capture_on_commit_callbacks(execute=False):
        payout = services.payout_create(milestone=milestone)  # its task never runs
    funding.refresh_from_db()
    remote = stripe_api._transfer_create(
        {
            "amount": "30000",
            "currency": "usd",
            "destination": account.account_id,
            "source_transaction": funding.charge_id,
            "transfer_group": f"assignment_{assignment.pk}",
            "metadata": {"payout_id": str(payout.pk)},
        }
    )[1]
    with on_commit():
        post(client, event("transfer.created", remote))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.transfer_id == remote["id"]
    assert_ledger_clean()


def test_account_updated_is_re_fetched_not_trusted(client, stripe_api, on_commit):
    assignment = AssignmentFactory()
    services.payout_account_onboarding_url(
        country="US", student=assignment.student, refresh_url="http://t/r", return_url="http://t/r"
    )
    account = PayoutAccount.objects.get(student=assignment.student)
    # The payload claims the account is ready; the provider says it is not (an old event).
    claimed = dict(stripe_api.state.accounts[account.account_id])
    claimed.update(payouts_enabled=True, capabilities={"transfers": "active"})
    with on_commit():
        post(client, event("account.updated", claimed, account=account.account_id))
    account.refresh_from_db()
    assert not account.is_ready
    stripe_api.set_account(account.account_id, ready=True)
    with on_commit():
        post(client, event("account.updated", claimed, account=account.account_id))
    account.refresh_from_db()
    assert account.is_ready and account.ready_at is not None


def test_async_success_before_completed_pays_once(client, stripe_api, started, on_commit):
    _, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id, paid=False)
    stripe_api.settle_async_payment(session["id"])
    with on_commit():
        post(client, event("checkout.session.async_payment_succeeded", session))
        post(client, event("checkout.session.completed", session))
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    assert LedgerEntry.objects.filter(transaction_id=f"funding:{funding.pk}").count() == 3
    assert WebhookEvent.objects.filter(status="processed").count() == 2


def test_a_delayed_payment_is_processing_until_it_succeeds(client, stripe_api, started, on_commit):
    assignment, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id, paid=False)
    with on_commit():
        post(client, event("checkout.session.completed", session))
    funding.refresh_from_db()
    assignment.refresh_from_db()
    assert funding.status == Funding.Status.PROCESSING
    assert assignment.status == Assignment.Status.AWAITING_FUNDING
    assert not LedgerEntry.objects.exists()
    stripe_api.settle_async_payment(session["id"])
    with on_commit():
        post(client, event("checkout.session.async_payment_succeeded", session))
    funding.refresh_from_db()
    assignment.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    assert assignment.status == Assignment.Status.ACTIVE


def test_events_left_unhandled_are_picked_up_by_the_sweep(
    client, stripe_api, started, django_capture_on_commit_callbacks, on_commit
):
    _, funding = started
    session = stripe_api.complete_checkout(funding.checkout_session_id)
    with django_capture_on_commit_callbacks(execute=False):
        post(client, event("checkout.session.completed", session))  # the enqueue is lost
    row = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=row.pk).update(received_at=row.received_at.replace(year=2020))
    with on_commit():
        result = services.payments_sweep()
    assert result.events_enqueued == 1
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
