"""Retries that can succeed: Stripe replays a key's first answer (errors and 500s included), so
each attempt has its own key, looks before it pays, and what a refusal means decides what
happens next: retry, wait for the student's account, wait for the balance, or tell staff."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from payments import services
from payments.models import Payout, PayoutAccount, ReconciliationIssue, WebhookEvent
from payments.providers import get_provider
from payments.providers.test import failure_set
from tests.factories import StaffFactory

from .conftest import WEBHOOK_SECRET
from .factories import AssignmentFactory, employer_of
from .helpers import approve, assert_ledger_clean, pay_with_test_provider, ready_account
from .stripe_standin import BALANCE_INSUFFICIENT, event, sign
from .test_faults import funded_assignment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def post_event(client, payload: bytes):
    return client.post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, WEBHOOK_SECRET),
    )


def _payout(assignment, on_commit) -> Payout:
    milestone = approve(assignment.milestones.get())
    with on_commit():
        services.payments_sweep()
    return Payout.objects.get(milestone=milestone)


def test_a_short_balance_waits_for_money_and_pays_later_with_a_new_key(
    stripe_api, settings, on_commit
):
    settings.PAYOUT_MAX_RETRIES = 1  # a wait for the balance is not a failed retry
    assignment = funded_assignment(stripe_api)
    stripe_api.fail("/v1/transfers", status=400, body=BALANCE_INSUFFICIENT)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        payout = _payout(assignment, on_commit)
    assert payout.status == Payout.Status.PENDING and not payout.waiting_for_account
    assert "balance_insufficient" in payout.last_error
    assert payout.next_attempt_at == start + dt.timedelta(hours=1)
    assert not stripe_api.state.transfers
    with time_machine.travel(start + dt.timedelta(minutes=30), tick=False):
        assert services.payments_sweep().payouts_enqueued == 0
    # An hour later the sweep tries again; the refused key would replay its refusal for 24 h.
    with (
        time_machine.travel(start + dt.timedelta(minutes=61), tick=False),
        on_commit(),
    ):
        assert services.payments_sweep().payouts_enqueued == 1
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    keys = [c.idempotency_key for c in stripe_api.calls("POST", "/v1/transfers")]
    assert keys == [f"test:payout:{payout.pk}:1", f"test:payout:{payout.pk}:2"]
    assert len(stripe_api.state.transfers) == 1
    assert_ledger_clean()


def test_an_account_that_cannot_take_transfers_waits_until_account_updated_says_ready(
    stripe_api, client, on_commit
):
    assignment = funded_assignment(stripe_api)
    account = PayoutAccount.objects.get(student=assignment.student)
    # Stripe restricted the account; the event telling us has not arrived yet.
    stripe_api.set_account(account.account_id, ready=False)
    payout = _payout(assignment, on_commit)
    assert payout.status == Payout.Status.PENDING and payout.waiting_for_account
    assert "insufficient_capabilities_for_transfer" in payout.last_error
    account.refresh_from_db()
    assert account.status == PayoutAccount.Status.RESTRICTED
    assert assignment.student.notifications.filter(kind="payout.account_needed").exists()
    # Waiting for the student is not retried by the sweep...
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        assert services.payments_sweep().payouts_enqueued == 0
    # ...but released by the event that says payouts are enabled again.
    remote = stripe_api.set_account(account.account_id, ready=True)
    with on_commit():
        post_event(client, event("account.updated", remote, account=account.account_id))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(stripe_api.state.transfers) == 1
    assert stripe_api.calls("POST", "/v1/transfers")[-1].idempotency_key == (
        f"test:payout:{payout.pk}:2"
    )
    assert_ledger_clean()


def test_a_final_refusal_fails_the_payout_and_tells_staff(stripe_api, on_commit):
    staff = StaffFactory()
    assignment = funded_assignment(stripe_api)
    stripe_api.fail(
        "/v1/transfers",
        status=400,
        body={"type": "invalid_request_error", "code": "parameter_invalid_integer"},
    )
    payout = _payout(assignment, on_commit)
    assert payout.status == Payout.Status.FAILED and payout.attempts == 1
    assert staff.notifications.filter(kind="payout.failed").exists()
    assert not stripe_api.state.transfers
    assert_ledger_clean()


def test_keys_carry_the_environment_s_namespace(stripe_api, settings, on_commit):
    """Two environments on one Stripe account have the same ids; their keys must differ."""
    settings.PAYMENTS_IDEMPOTENCY_NAMESPACE = "staging"
    assignment = funded_assignment(stripe_api)
    milestone = approve(assignment.milestones.get())
    with on_commit():
        payout = services.payout_create(milestone=milestone)
    # Another environment (namespace "production") already used the same ids for another
    # transfer: its saved answer must not come back to us.
    key = f"payout:{payout.pk}:1"
    stripe_api.state.idempotency[f"production:{key}"] = (
        200,
        {"id": "tr_someone_else", "object": "transfer"},
        {},
        9e12,
    )
    services.payout_release(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.transfer_id != "tr_someone_else"
    (call,) = stripe_api.calls("POST", "/v1/transfers")
    assert call.idempotency_key == f"staging:{key}"
    (account_call,) = stripe_api.calls("POST", "/v1/accounts")
    assert account_call.idempotency_key.startswith("staging:payout-account:")
    assert_ledger_clean()


def test_a_webhook_that_keeps_failing_stops_after_the_limit_and_staff_are_told(
    stripe_api, client, settings, on_commit
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    staff = StaffFactory()
    assignment = funded_assignment(stripe_api)
    account = PayoutAccount.objects.get(student=assignment.student)
    remote = stripe_api.set_account(account.account_id, ready=True)
    stripe_api.down = True  # every re-fetch fails
    with on_commit():
        post_event(
            client, event("account.updated", remote, account=account.account_id, event_id="evt_x")
        )
    row = WebhookEvent.objects.get(event_id="evt_x")
    assert row.status == WebhookEvent.Status.RECEIVED and row.attempts == 1
    now = timezone.now()
    for minutes in (3, 6, 9, 12):
        with time_machine.travel(now + dt.timedelta(minutes=minutes)), on_commit():
            services.payments_sweep()
    row.refresh_from_db()
    assert row.status == WebhookEvent.Status.FAILED and row.attempts == 3
    assert "gave up after 3 attempts" in row.note
    issue = ReconciliationIssue.objects.get(kind="webhook_failed")
    assert "evt_x" in issue.description
    assert staff.notifications.filter(kind="payments.issue").count() == 1
    # No longer handed over.
    with time_machine.travel(now + dt.timedelta(minutes=20)):
        assert services.payments_sweep().events_enqueued == 0


def test_the_test_provider_replays_refusals_too_and_the_next_key_succeeds(
    test_provider, settings, on_commit
):
    assignment = AssignmentFactory(amount=30000, milestones=[30000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    with on_commit():
        pay_with_test_provider(funding)
    with on_commit():
        ready_account(assignment.student)
    failure_set(mode="balance", times=1)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        payout = _payout(assignment, on_commit)
    assert payout.status == Payout.Status.PENDING
    assert payout.next_attempt_at == start + dt.timedelta(hours=1)
    # The refused key answers the same refusal, as Stripe's would.
    provider = get_provider()
    with pytest.raises(Exception, match="balance"):
        provider.transfer_create(
            amount=payout.amount,
            currency=payout.currency,
            destination=PayoutAccount.objects.get(student=assignment.student).account_id,
            source_transaction="",
            transfer_group=funding.transfer_group,
            metadata={},
            idempotency_key=f"test:payout:{payout.pk}:1",
        )
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False), on_commit():
        services.payments_sweep()
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.attempt_serial == 2
    call_command("ledger_check")
    assert_ledger_clean()
