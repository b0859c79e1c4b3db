"""Steps shared by the payment tests, each through the same services the pages use."""

from django.db import transaction
from django.utils import timezone

from applications.models import Milestone
from payments import services
from payments.models import Funding, LedgerEntry, PayoutAccount, WebhookEvent
from payments.providers import get_provider
from payments.providers.base import event_from_dict
from payments.selectors import ledger_problems


def pay_with_test_provider(funding: Funding) -> WebhookEvent:
    """The employer presses "pay" on the test checkout page: the event goes the webhook way."""
    provider = get_provider()
    with transaction.atomic():
        _url, event = provider.checkout_pay(funding.checkout_session_id)
        row, _ = services.webhook_event_record(provider_name="test", event=event_from_dict(event))
    return row


def ready_account(student) -> PayoutAccount:
    """The student finishes the test onboarding (an ``account.updated`` event)."""
    provider = get_provider()
    url = services.payout_account_onboarding_url(
        country="US", student=student, refresh_url="http://x/refresh", return_url="http://x/return"
    )
    link_id = url.rstrip("/").split("/")[-1]
    with transaction.atomic():
        _url, event = provider.onboarding_complete(link_id=link_id)
        services.webhook_event_record(provider_name="test", event=event_from_dict(event))
    return PayoutAccount.objects.get(student=student)


def approve(milestone: Milestone) -> Milestone:
    """The applications side approved it (fixture: the row, not its service)."""
    Milestone.objects.filter(pk=milestone.pk).update(
        status=Milestone.Status.APPROVED, approved_at=timezone.now()
    )
    milestone.refresh_from_db()
    return milestone


def balances(assignment) -> dict[str, int]:
    out: dict[str, int] = {}
    for entry in LedgerEntry.objects.filter(assignment=assignment):
        out[entry.account] = out.get(entry.account, 0) + entry.amount
    return out


def assert_ledger_clean() -> None:
    problems = ledger_problems()
    assert problems == [], problems


def fund_through_stripe(stripe_api, *, milestones=(30000,)):
    """An assignment funded through Checkout (the session paid at the Stripe stand-in) and a
    student whose connected account is ready."""
    from .factories import AssignmentFactory, employer_of

    assignment = AssignmentFactory(amount=sum(milestones), milestones=list(milestones))
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    stripe_api.complete_checkout(funding.checkout_session_id)
    services.funding_confirm(session_id=funding.checkout_session_id)
    services.payout_account_onboarding_url(
        country="US", student=assignment.student, refresh_url="http://t/r", return_url="http://t/r"
    )
    account = PayoutAccount.objects.get(student=assignment.student)
    stripe_api.set_account(account.account_id, ready=True)
    services.payout_account_sync(account_id=account.account_id)
    assert Funding.objects.get(pk=funding.pk).status == Funding.Status.PAID
    return assignment


def post_event(client, payload: bytes):
    """Deliver a Stripe event to the webhook endpoint, signed with the test secret."""
    from .conftest import WEBHOOK_SECRET
    from .stripe_standin import sign

    return client.post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, WEBHOOK_SECRET),
    )
