"""Demo money for ``manage.py seed_demo``, with the test provider: idempotent.

Runs after the applications demo. Every paid assignment waiting for funding is funded through
the test checkout (the same event path as Stripe's webhook, handled here at once rather than by
the worker, so that the demo is ready when the command ends). The first student with a funded
assignment gets a ready payout account, delivers the first milestone, the employer approves it,
and the payout is released, so billing, receipts and earnings have something to show. The other
students have no payout account yet, to show that path.
"""

from django.conf import settings
from django.db import transaction

from applications import services as application_services
from applications.models import Assignment, Milestone
from payments.providers.base import event_from_dict

from . import services
from .models import Funding, Payout, PayoutAccount, WebhookEvent
from .providers import get_provider
from .providers.test import TestProvider


def _test_provider() -> TestProvider:
    """The demo pays through the test provider's own pages (no Stripe keys configured)."""
    provider = get_provider()
    if not isinstance(provider, TestProvider):
        raise RuntimeError("The demo data is made with the test provider: unset STRIPE_SECRET_KEY.")
    return provider


def _owner(assignment: Assignment):
    membership = assignment.posting.employer.memberships.order_by("role", "pk").first()
    return membership.user if membership else None


def _handle(event: dict) -> None:
    row, _created = services.webhook_event_record(
        provider_name="test", event=event_from_dict(event)
    )
    if row.status == WebhookEvent.Status.RECEIVED:
        services.webhook_event_process(event_pk=row.pk)


def _fund(assignment: Assignment) -> bool:
    owner = _owner(assignment)
    if owner is None:
        return False
    funding = services.funding_start(assignment=assignment, actor=owner)
    if not funding.checkout_session_id:
        return False
    _url, event = _test_provider().checkout_pay(funding.checkout_session_id)
    _handle(event)
    return Funding.objects.filter(pk=funding.pk, status=Funding.Status.PAID).exists()


def _ready_account(student) -> None:
    account = PayoutAccount.objects.filter(student=student).first()
    if account and account.is_ready:
        return
    url = services.payout_account_onboarding_url(
        country=settings.PAYMENTS_PLATFORM_COUNTRY,
        student=student,
        refresh_url="/payments/payout-account/",
        return_url="/",
    )
    _url, event = _test_provider().onboarding_complete(link_id=url.rstrip("/").split("/")[-1])
    _handle(event)


def _deliver_and_pay_first(assignment: Assignment) -> bool:
    milestone = assignment.milestones.order_by("position", "id").first()
    if milestone is None or milestone.amount <= 0:
        return False
    if milestone.status == Milestone.Status.OPEN:
        application_services.submission_create(
            milestone=milestone,
            actor=assignment.student,
            note="The first part, as agreed.",
            links=["https://example.com/demo-delivery"],
        )
        milestone.refresh_from_db()
    if milestone.status == Milestone.Status.SUBMITTED:
        application_services.milestone_approve(milestone=milestone, actor=_owner(assignment))
        milestone.refresh_from_db()
    payout = (
        services.milestone_release(milestone_id=milestone.pk)
        or Payout.objects.filter(milestone=milestone).first()
    )
    if payout is None:
        return False
    services.payout_release(payout_id=payout.pk)
    return Payout.objects.filter(pk=payout.pk, status=Payout.Status.PAID).exists()


def seed_demo(*, stdout) -> None:
    if not get_provider().test_mode or get_provider().name != "test":
        stdout.write("Payments: a Stripe key is set; the demo moves no money.")
        return
    funded = paid = 0
    with transaction.atomic():
        waiting = Assignment.objects.filter(
            status=Assignment.Status.AWAITING_FUNDING, amount__gt=0
        ).select_related("posting__employer", "student")
        for assignment in waiting.order_by("pk"):
            if _fund(assignment):
                funded += 1
        first = (
            Assignment.objects.filter(funding__status=Funding.Status.PAID)
            .select_related("student", "posting__employer")
            .order_by("pk")
            .first()
        )
        if first is not None:
            _ready_account(first.student)
            if _deliver_and_pay_first(first):
                paid += 1
    stdout.write(
        f"Payments (test mode: no real money moves): {funded} assignment(s) funded, "
        f"{Payout.objects.filter(status=Payout.Status.PAID).count()} payout(s) paid."
    )
