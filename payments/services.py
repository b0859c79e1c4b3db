"""Every write of the payments app: payout accounts, fundings, payouts, refunds, the ledger,
webhook events and reconciliation.

The pattern for money that leaves through the provider (payouts, refunds) is three steps:
lock and mark ``processing`` (commit), call the provider with a deterministic idempotency key
(no transaction open, no lock held), then lock again and record. A worker that dies between
the call and the record leaves the row ``processing``; once its lease has run out the sweep runs
it again, and the provider answers the same idempotency key with the first result, so the money
moves once. After 24 hours (the provider forgets keys) a retry first looks for the transfer in
the assignment's transfer group.

Only transient provider errors (``ProviderUnavailable``) are retried, with exponential backoff
kept in ``next_attempt_at`` and picked up by the beat sweep, never by long countdowns; after
``PAYOUT_MAX_RETRIES`` the row waits for staff (admin "retry" action).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import employer_for_user
from applications.models import Assignment, Dispute, Milestone
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, NotPermitted, status_move
from notifications.services import notify, notify_many, reminder_cancel, reminder_schedule

from . import selectors
from .models import (
    Funding,
    LedgerEntry,
    Payout,
    PayoutAccount,
    ReconciliationIssue,
    Refund,
    WebhookEvent,
)
from .money import fee_for, format_money
from .providers import get_provider
from .providers.base import (
    CheckoutSession,
    LineItem,
    PaymentActionRequired,
    PaymentDeclined,
    PaymentError,
    ProviderEvent,
    ProviderUnavailable,
    Transfer,
)

logger = logging.getLogger(__name__)
Account = LedgerEntry.Account
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# A row handed to a task is not handed over again by the sweep for this long (a lost message is).
CLAIM = timedelta(minutes=2)


class PaymentRefused(DomainError):
    """A provider error turned into the one error format, with what the caller should do."""

    code = "payment_error"
    status_code = 502


def _refused(exc: PaymentError) -> PaymentRefused:
    if isinstance(exc, PaymentDeclined):
        error = PaymentRefused(exc.message, code="payment_declined")
        error.status_code = 402
    elif isinstance(exc, PaymentActionRequired):
        error = PaymentRefused(exc.message, code="payment_action_required")
        error.status_code = 402
        error.fields = {"redirect_url": [exc.redirect_url]} if exc.redirect_url else {}
    elif isinstance(exc, ProviderUnavailable):
        error = PaymentRefused(exc.message, code="provider_unavailable")
        error.status_code = 503
    else:
        error = PaymentRefused(exc.message, code="provider_error")
    return error


def _staff():
    return get_user_model().objects.filter(is_staff=True, is_active=True)


def _backoff(attempts: int) -> timedelta:
    seconds = settings.PAYOUT_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, 3600))


# --- Ledger ---------------------------------------------------------------------------------


def ledger_post(
    *,
    transaction_id: str,
    assignment: Assignment | None,
    currency: str,
    lines: dict,
    memo: str = "",
) -> bool:
    """Book one balanced transaction, once: a second call with the same id books nothing.

    Call it inside the transaction (and under the row lock) of the movement it records.
    """
    lines = {account: int(amount) for account, amount in lines.items() if amount}
    if sum(lines.values()) != 0:
        raise ValueError(f"Ledger transaction {transaction_id} does not balance: {lines}")
    if LedgerEntry.objects.filter(transaction_id=transaction_id).exists():
        return False
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                transaction_id=transaction_id,
                account=account,
                amount=amount,
                currency=currency,
                assignment=assignment,
                memo=memo[:200],
            )
            for account, amount in lines.items()
        ]
    )
    return True


# --- Issues for staff -------------------------------------------------------------------------


def issue_raise(
    *, key: str, kind: str, description: str, assignment: Assignment | None = None
) -> ReconciliationIssue | None:
    """Record a difference for staff, once per ``key``, and tell every staff user."""
    issue, created = ReconciliationIssue.objects.get_or_create(
        key=key[:200],
        defaults={"kind": kind, "description": description, "assignment": assignment},
    )
    if not created:
        return None
    logger.warning("Payments issue %s: %s", kind, description)
    notify_many(
        recipients=_staff(),
        kind="payments.issue",
        title=f"Payments: {kind.replace('_', ' ')}",
        body=description,
        link=reverse("payments:staff_money"),
        dedupe_key=f"payments-issue:{issue.pk}",
    )
    return issue


def issue_resolve(*, issue: ReconciliationIssue, actor) -> ReconciliationIssue:
    with transaction.atomic():
        issue = ReconciliationIssue.objects.select_for_update().get(pk=issue.pk)
        if issue.resolved_at is None:
            issue.resolved_at = timezone.now()
            issue.resolved_by = actor
            issue.save(update_fields=["resolved_at", "resolved_by"])
            audit(action="payments.issue_resolved", target=issue, actor=actor)
    return issue


# --- Payout accounts ------------------------------------------------------------------------


def payout_account_onboarding_url(*, student, refresh_url: str, return_url: str) -> str:
    """A fresh onboarding link (links are single-use): creates the connected account first."""
    if not student.is_student:
        raise NotPermitted("Only students have a payout account.")
    provider = get_provider()
    account = PayoutAccount.objects.filter(student=student).first()
    try:
        if account is None:
            remote = provider.account_create(
                email=student.email,
                student_id=student.pk,
                idempotency_key=f"payout-account:{student.pk}",
            )
            with transaction.atomic():
                account, created = PayoutAccount.objects.get_or_create(
                    student=student,
                    defaults={"provider": provider.name, "account_id": remote.id},
                )
                if created:
                    audit(action="payout_account.created", target=account, actor=student)
        return provider.account_link_create(
            account_id=account.account_id, refresh_url=refresh_url, return_url=return_url
        )
    except PaymentError as exc:
        raise _refused(exc) from exc


def payout_account_sync(*, account_id: str) -> PayoutAccount | None:
    """Re-fetch the connected account and update its readiness (``account.updated``).

    Becoming ready releases every payout that waited for it.
    """
    account = PayoutAccount.objects.filter(account_id=account_id).first()
    if account is None:
        return None
    remote = get_provider().account_retrieve(account_id)
    now = timezone.now()
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account.pk)
        was_ready = account.is_ready
        account.transfers_active = remote.transfers_active
        account.payouts_enabled = remote.payouts_enabled
        account.details_submitted = remote.details_submitted
        account.synced_at = now
        fields = ["transfers_active", "payouts_enabled", "details_submitted", "synced_at"]
        target = (
            PayoutAccount.Status.READY
            if remote.ready
            else (
                PayoutAccount.Status.RESTRICTED
                if account.status != PayoutAccount.Status.ONBOARDING or remote.details_submitted
                else PayoutAccount.Status.ONBOARDING
            )
        )
        if target != account.status:
            status_move(account, target, "payout account")
            fields.append("status")
            audit(action=f"payout_account.{target}", target=account)
        if account.is_ready and not was_ready:
            account.ready_at = now
            fields.append("ready_at")
        account.save(update_fields=fields)
        if account.is_ready and not was_ready:
            reminder_cancel(key_prefix=f"payout-account:{account.student_id}:")
            waiting = list(
                Payout.objects.select_for_update()
                .filter(
                    student_id=account.student_id,
                    status=Payout.Status.PENDING,
                    waiting_for_account=True,
                )
                .values_list("pk", flat=True)
            )
            Payout.objects.filter(pk__in=waiting).update(
                waiting_for_account=False, next_attempt_at=now
            )
            from .tasks import release_payout

            for payout_id in waiting:
                release_payout.delay_on_commit(payout_id)
    return account


# --- Funding --------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def funding_start(
    *,
    assignment: Assignment,
    actor,
    amount: int | None = None,
    currency: str | None = None,
) -> Funding:
    """Start (or resume) the employer's payment: a Checkout Session for milestones plus fee.

    ``amount``/``currency``, when given (the API), must be exactly the quote's total and the
    assignment's currency. Calling it again while a session is open returns that session.
    """
    employer = employer_for_user(actor)
    if employer is None or employer.pk != assignment.posting.employer_id:
        raise NotPermitted("Only the employer of this assignment can fund it.")
    quote = selectors.funding_quote(assignment=assignment)
    if currency is not None and currency.upper() != assignment.currency:
        raise DomainError(
            f"This assignment is paid in {assignment.currency}, not {currency.upper()}.",
            code="currency_mismatch",
            fields={"currency": [f"Must be {assignment.currency}."]},
        )
    if amount is not None and amount != quote.total:
        raise DomainError(
            f"The amount to pay is {format_money(quote.total, quote.currency)} "
            f"(milestones plus the platform fee), not {format_money(amount, quote.currency)}.",
            code="amount_mismatch",
            fields={"amount": [f"Must be {quote.total}."]},
        )
    provider = get_provider()
    now = timezone.now()
    previous_session = ""
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if locked.status != Assignment.Status.AWAITING_FUNDING:
            raise InvalidTransition(
                "This assignment is not waiting for funding "
                f"(it is {locked.get_status_display().lower()})."
            )
        funding = Funding.objects.select_for_update().filter(assignment=locked).first()
        if funding is None:
            funding = Funding.objects.create(
                assignment=locked,
                employer=employer,
                created_by=actor,
                provider=provider.name,
                currency=quote.currency,
                amount=quote.amount,
                fee_percent=quote.fee_percent,
                fee_amount=quote.fee,
                total_amount=quote.total,
                checkout_attempt=1,
            )
            audit(action="funding.started", target=funding, actor=actor, total=quote.total)
        elif funding.status == Funding.Status.PAID:
            raise InvalidTransition("This assignment is already funded.")
        elif funding.status == Funding.Status.PROCESSING:
            raise InvalidTransition(
                "A payment for this assignment is being processed; you will be told when it clears."
            )
        elif (
            funding.status == Funding.Status.OPEN
            and funding.checkout_session_id
            and funding.checkout_expires_at
            and funding.checkout_expires_at > now + timedelta(minutes=10)
        ):
            return funding  # the open session is still good: the same page again
        elif funding.status == Funding.Status.OPEN and not funding.checkout_session_id:
            pass  # the last attempt got no session: the same attempt (and key) again
        else:
            previous_session = funding.checkout_session_id or ""
            if funding.status == Funding.Status.FAILED:
                status_move(funding, Funding.Status.OPEN, "funding")
            funding.checkout_attempt += 1
            funding.checkout_session_id = None
            funding.checkout_url = ""
            funding.checkout_expires_at = None
            funding.save(
                update_fields=[
                    "status",
                    "checkout_attempt",
                    "checkout_session_id",
                    "checkout_url",
                    "checkout_expires_at",
                    "updated_at",
                ]
            )
            audit(action="funding.restarted", target=funding, actor=actor)
    try:
        if previous_session:
            # An old session must not be payable next to the new one.
            provider.checkout_expire(previous_session)
        milestones = list(locked.milestones.order_by("position", "id"))
        items = [LineItem(name=m.title, amount=m.amount) for m in milestones if m.amount > 0]
        if funding.fee_amount:
            items.append(
                LineItem(name=f"Platform fee ({funding.fee_percent}%)", amount=funding.fee_amount)
            )
        return_path = reverse("payments:funding_return", args=[funding.pk])
        session = provider.checkout_create(
            line_items=items,
            currency=funding.currency,
            transfer_group=funding.transfer_group,
            metadata={
                "funding_id": str(funding.pk),
                "assignment_id": str(locked.pk),
                "employer_id": str(employer.pk),
            },
            customer_email=actor.email,
            success_url=_absolute(return_path) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=_absolute(reverse("payments:funding", args=[locked.pk])) + "?cancelled=1",
            idempotency_key=funding.checkout_idempotency_key,
        )
    except PaymentError as exc:
        raise _refused(exc) from exc
    with transaction.atomic():
        funding = Funding.objects.select_for_update().get(pk=funding.pk)
        if funding.status == Funding.Status.OPEN and not funding.checkout_session_id:
            funding.checkout_session_id = session.id
            funding.checkout_url = session.url
            funding.checkout_expires_at = (
                datetime.fromtimestamp(session.expires_at, tz=UTC)
                if session.expires_at
                else now + timedelta(hours=24)
            )
            funding.save(
                update_fields=[
                    "checkout_session_id",
                    "checkout_url",
                    "checkout_expires_at",
                    "updated_at",
                ]
            )
    return funding


def funding_confirm(*, session_id: str) -> Funding | None:
    """Fulfil a Checkout Session, from its event: re-fetched, checked, booked once.

    The assignment becomes active only here. A session whose amount, currency or ids do not
    match our funding is not accepted: staff are told, and nothing changes.
    """
    session = get_provider().checkout_retrieve(session_id)
    funding_id = session.metadata.get("funding_id", "")
    funding = Funding.objects.filter(pk=funding_id).first() if funding_id.isdigit() else None
    if funding is None:
        issue_raise(
            key=f"session:{session.id}:unknown",
            kind="unknown_payment",
            description=f"Checkout session {session.id} names no funding of ours "
            f"({format_money(session.amount_total, session.currency or 'USD')}).",
        )
        return None
    with transaction.atomic():
        funding = (
            Funding.objects.select_for_update().select_related("assignment").get(pk=funding.pk)
        )
        if session.payment_status != "paid":
            if session.status == "complete" and funding.status == Funding.Status.OPEN:
                status_move(funding, Funding.Status.PROCESSING, "funding")
                funding.save(update_fields=["status", "updated_at"])
                audit(action="funding.processing", target=funding)
            return funding
        mismatch = []
        if session.currency != funding.currency:
            mismatch.append(f"currency {session.currency} instead of {funding.currency}")
        if session.amount_total != funding.total_amount:
            mismatch.append(
                f"amount {session.amount_total} instead of {funding.total_amount} minor units"
            )
        if session.metadata.get("assignment_id") != str(funding.assignment_id):
            mismatch.append("another assignment in the metadata")
        if mismatch:
            issue_raise(
                key=f"session:{session.id}:mismatch",
                kind="payment_mismatch",
                description=f"Checkout session {session.id} for funding #{funding.pk} was not "
                f"accepted: {', '.join(mismatch)}. Nothing was booked.",
                assignment=funding.assignment,
            )
            return funding
        if funding.status == Funding.Status.PAID:
            if session.payment_intent_id and session.payment_intent_id != funding.payment_intent_id:
                issue_raise(
                    key=f"session:{session.id}:duplicate",
                    kind="duplicate_payment",
                    description=f"Funding #{funding.pk} was paid a second time through "
                    f"session {session.id} (payment {session.payment_intent_id}); refund it.",
                    assignment=funding.assignment,
                )
            return funding
        status_move(funding, Funding.Status.PAID, "funding")
        funding.checkout_session_id = session.id
        funding.payment_intent_id = session.payment_intent_id or None
        funding.charge_id = session.charge_id or None
        funding.paid_at = timezone.now()
        funding.save(
            update_fields=[
                "status",
                "checkout_session_id",
                "payment_intent_id",
                "charge_id",
                "paid_at",
                "updated_at",
            ]
        )
        ledger_post(
            transaction_id=f"funding:{funding.pk}",
            assignment=funding.assignment,
            currency=funding.currency,
            lines={
                Account.EMPLOYER_FUNDING: -funding.total_amount,
                Account.HELD: funding.amount,
                Account.PLATFORM_FEE: funding.fee_amount,
            },
            memo=f"Checkout {session.id}",
        )
        audit(action="funding.paid", target=funding, total=funding.total_amount)
        if funding.created_by_id:
            notify(
                recipient=funding.created_by,
                kind="assignment.funded",
                title=f"Payment received: {format_money(funding.total_amount, funding.currency)}",
                body=f"The assignment “{funding.assignment}” is funded and can start.",
                link=reverse("payments:receipt", args=[funding.pk]),
                dedupe_key=f"funding:{funding.pk}:paid",
            )
        assignment = Assignment.objects.select_for_update().get(pk=funding.assignment_id)
        if assignment.status == Assignment.Status.CANCELLED:
            # Paid after the assignment was cancelled: everything goes back.
            _refund_create(
                funding=funding,
                key=f"funding:{funding.pk}:late",
                reason=Refund.Reason.LATE_PAYMENT,
                amount=funding.total_amount,
                fee_amount=funding.fee_amount,
                milestone_ids=[],
            )
        else:
            from applications import services as application_services

            application_services.assignment_mark_funded(assignment=assignment, actor=None)
    return funding


def funding_payment_failed(*, session_id: str) -> Funding | None:
    """A delayed payment method failed (re-fetched): the employer can start a new payment."""
    session = get_provider().checkout_retrieve(session_id)
    funding_id = session.metadata.get("funding_id", "")
    if not funding_id.isdigit() or session.payment_status == "paid":
        return None
    with transaction.atomic():
        funding = Funding.objects.select_for_update().filter(pk=funding_id).first()
        if funding is None or funding.checkout_session_id != session.id:
            return funding
        if funding.status in (Funding.Status.OPEN, Funding.Status.PROCESSING):
            status_move(funding, Funding.Status.FAILED, "funding")
            funding.save(update_fields=["status", "updated_at"])
            audit(action="funding.failed", target=funding)
            if funding.created_by_id:
                notify(
                    recipient=funding.created_by,
                    kind="reminder.funding_pending",
                    title="Your payment did not go through",
                    body="No money moved. Please start the payment again.",
                    link=reverse("payments:funding", args=[funding.assignment_id]),
                    dedupe_key=f"funding:{funding.pk}:failed:{session.id}",
                )
    return funding


def funding_session_expired(*, session_id: str) -> Funding | None:
    """An unpaid session ran out: forget it, so the next "pay" makes a fresh one."""
    session = get_provider().checkout_retrieve(session_id)
    if session.status != "expired":
        return None
    with transaction.atomic():
        funding = Funding.objects.select_for_update().filter(checkout_session_id=session.id).first()
        if funding is not None and funding.status == Funding.Status.OPEN:
            funding.checkout_expires_at = timezone.now()
            funding.save(update_fields=["checkout_expires_at", "updated_at"])
    return funding


# --- Payouts --------------------------------------------------------------------------------


def _held_available(*, assignment_id: int) -> int:
    """What the ledger still holds for the assignment, less refunds under way."""
    held = (
        LedgerEntry.objects.filter(assignment_id=assignment_id, account=Account.HELD).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    pending_refunds = (
        Refund.objects.filter(assignment_id=assignment_id)
        .exclude(status=Refund.Status.SUCCEEDED)
        .aggregate(amount=Sum("amount"), fee=Sum("fee_amount"))
    )
    return held - ((pending_refunds["amount"] or 0) - (pending_refunds["fee"] or 0))


def payout_create(*, milestone: Milestone, amount: int | None = None, actor=None) -> Payout | None:
    """The one payout of a milestone (approved, or a dispute's release/split), once.

    Returns None when there is nothing to pay (amount 0) or the assignment is not funded yet
    (the sweep comes back once it is).
    """
    amount = milestone.amount if amount is None else int(amount)
    if amount <= 0:
        return None
    if amount > milestone.amount:
        raise DomainError("A payout cannot be more than the milestone's amount.", code="amount")
    with transaction.atomic():
        funding = (
            Funding.objects.select_for_update()
            .filter(assignment_id=milestone.assignment_id)
            .first()
        )
        if funding is None or funding.status != Funding.Status.PAID:
            return None
        existing = Payout.objects.filter(milestone=milestone).first()
        if existing is not None:
            return existing
        if amount > _held_available(assignment_id=milestone.assignment_id):
            issue_raise(
                key=f"milestone:{milestone.pk}:not-held",
                kind="payout_exceeds_held",
                description=f"Milestone #{milestone.pk} is due {amount} minor units but the "
                "assignment does not hold that much any more; nothing was paid.",
                assignment=funding.assignment,
            )
            return None
        try:
            with transaction.atomic():
                payout = Payout.objects.create(
                    milestone=milestone,
                    assignment_id=milestone.assignment_id,
                    funding=funding,
                    student_id=funding.assignment.student_id,
                    amount=amount,
                    currency=funding.currency,
                    next_attempt_at=timezone.now() + CLAIM,
                )
        except IntegrityError:
            return Payout.objects.get(milestone=milestone)
        ledger_post(
            transaction_id=f"payout:{payout.pk}:due",
            assignment=funding.assignment,
            currency=funding.currency,
            lines={Account.HELD: -amount, Account.STUDENT_PAYABLE: amount},
            memo=f"Milestone #{milestone.pk} due to the student",
        )
        audit(action="payout.created", target=payout, actor=actor, amount=amount)
        from .tasks import release_payout

        release_payout.delay_on_commit(payout.pk)
    return payout


def milestone_release(*, milestone_id: int) -> Payout | None:
    """An approved milestone: create its payout (the signal's nudge and the sweep's step)."""
    milestone = Milestone.objects.filter(pk=milestone_id).first()
    if milestone is None or milestone.status != Milestone.Status.APPROVED:
        return None
    return payout_create(milestone=milestone)


def _payout_wait_for_account(payout: Payout, account: PayoutAccount | None) -> None:
    if not payout.waiting_for_account:
        payout.waiting_for_account = True
        payout.save(update_fields=["waiting_for_account", "updated_at"])
        audit(action="payout.waiting_for_account", target=payout)
    link = reverse("payments:payout_account")
    amount = format_money(payout.amount, payout.currency)
    notify(
        recipient=payout.student,
        kind="payout.account_needed",
        title=f"Set up your payout account to receive {amount}",
        body="A payment is waiting for you. It is kept safe until your payout account is ready.",
        link=link,
        dedupe_key=f"payout:{payout.pk}:account_needed",
    )
    reminder_schedule(
        key=f"payout-account:{payout.student_id}:payout:{payout.pk}",
        recipient=payout.student,
        kind="reminder.payout_account",
        title=f"{amount} waits for your payout account",
        body="Finish setting up your payout account to receive it.",
        send_at=timezone.now() + timedelta(days=2),
        link=link,
    )


def _to_processing(obj) -> None:
    """Bring a payout or refund to ``processing`` through the map (recording a late result)."""
    Status = type(obj).Status
    if obj.status == Status.FAILED:
        status_move(obj, Status.PENDING, type(obj).__name__.lower())
    if obj.status == Status.PENDING:
        status_move(obj, Status.PROCESSING, type(obj).__name__.lower())


def _find_transfer(payout: Payout) -> Transfer | None:
    for transfer in get_provider().transfers_list(transfer_group=payout.funding.transfer_group):
        if transfer.metadata.get("payout_id") == str(payout.pk):
            return transfer
    return None


def payout_release(*, payout_id: int) -> Payout:
    """Transfer a payout to the student's connected account; safe to run twice or at once."""
    now = timezone.now()
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update()
            .select_related("funding", "student")
            .get(pk=payout_id)
        )
        if payout.status in (Payout.Status.PAID, Payout.Status.FAILED):
            return payout
        if (
            payout.status == Payout.Status.PROCESSING
            and payout.processing_since
            and payout.processing_since > now - settings.PAYOUT_PROCESSING_LEASE
        ):
            return payout  # another worker is on it right now
        account = PayoutAccount.objects.filter(student_id=payout.student_id).first()
        if account is None or not account.is_ready:
            _payout_wait_for_account(payout, account)
            return payout
        if payout.funding.status != Funding.Status.PAID:
            return payout
        if payout.status == Payout.Status.PENDING:
            status_move(payout, Payout.Status.PROCESSING, "payout")
        payout.processing_since = now
        payout.attempts += 1
        payout.first_attempt_at = payout.first_attempt_at or now
        payout.waiting_for_account = False
        payout.save(
            update_fields=[
                "status",
                "processing_since",
                "attempts",
                "first_attempt_at",
                "waiting_for_account",
                "updated_at",
            ]
        )
        destination = account.account_id
        funding = payout.funding
    try:
        transfer = None
        if payout.first_attempt_at < now - IDEMPOTENCY_WINDOW:
            # The provider may have forgotten our idempotency key: look before creating.
            transfer = _find_transfer(payout)
        if transfer is None:
            transfer = get_provider().transfer_create(
                amount=payout.amount,
                currency=payout.currency,
                destination=destination,
                source_transaction=funding.charge_id or "",
                transfer_group=funding.transfer_group,
                metadata={
                    "payout_id": str(payout.pk),
                    "milestone_id": str(payout.milestone_id),
                    "assignment_id": str(payout.assignment_id),
                },
                idempotency_key=payout.idempotency_key,
            )
    except ProviderUnavailable as exc:
        return _payout_attempt_failed(payout_id=payout.pk, error=exc, transient=True)
    except PaymentError as exc:
        return _payout_attempt_failed(payout_id=payout.pk, error=exc, transient=False)
    return payout_record_transfer(payout_id=payout.pk, transfer=transfer)


def _payout_attempt_failed(*, payout_id: int, error: PaymentError, transient: bool) -> Payout:
    now = timezone.now()
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("student").get(pk=payout_id)
        if payout.status != Payout.Status.PROCESSING:
            return payout
        payout.last_error = (error.detail or error.message)[:2000]
        payout.processing_since = None
        if transient and payout.attempts < settings.PAYOUT_MAX_RETRIES:
            status_move(payout, Payout.Status.PENDING, "payout")
            payout.next_attempt_at = now + _backoff(payout.attempts)
            payout.save(
                update_fields=[
                    "status",
                    "last_error",
                    "processing_since",
                    "next_attempt_at",
                    "updated_at",
                ]
            )
            audit(action="payout.retry_scheduled", target=payout, attempts=payout.attempts)
            return payout
        status_move(payout, Payout.Status.FAILED, "payout")
        payout.failed_at = now
        payout.next_attempt_at = None
        payout.save(
            update_fields=[
                "status",
                "last_error",
                "processing_since",
                "failed_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
        audit(action="payout.failed", target=payout, error=payout.last_error[:200])
        amount = format_money(payout.amount, payout.currency)
        notify(
            recipient=payout.student,
            kind="payout.failed",
            title=f"Your payout of {amount} is delayed",
            body="The transfer did not go through. Our team is looking into it; "
            "the money stays reserved for you.",
            link=reverse("payments:earnings"),
            dedupe_key=f"payout:{payout.pk}:failed:{payout.attempts}",
        )
        notify_many(
            recipients=_staff(),
            kind="payout.failed",
            title=f"Payout #{payout.pk} failed ({amount})",
            body=payout.last_error,
            link=reverse("admin:payments_payout_change", args=[payout.pk]),
            dedupe_key=f"payout:{payout.pk}:failed:{payout.attempts}:staff",
        )
    return payout


def payout_record_transfer(*, payout_id: int, transfer: Transfer) -> Payout:
    """Record the transfer of a payout (from the release task or a ``transfer.*`` event)."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update()
            .select_related("student", "funding", "milestone")
            .get(pk=payout_id)
        )
        if payout.status == Payout.Status.PAID:
            if payout.transfer_id != transfer.id:
                issue_raise(
                    key=f"transfer:{transfer.id}:second",
                    kind="second_transfer",
                    description=f"Payout #{payout.pk} is paid by {payout.transfer_id}, "
                    f"and the provider also shows transfer {transfer.id} for it.",
                    assignment=payout.funding.assignment,
                )
            return payout
        if (
            transfer.amount != payout.amount
            or transfer.currency != payout.currency
            or transfer.metadata.get("payout_id") != str(payout.pk)
        ):
            issue_raise(
                key=f"transfer:{transfer.id}:mismatch",
                kind="transfer_mismatch",
                description=f"Transfer {transfer.id} ({transfer.amount} {transfer.currency}) does "
                f"not match payout #{payout.pk} ({payout.amount} {payout.currency}).",
                assignment=payout.funding.assignment,
            )
            return payout
        _to_processing(payout)
        status_move(payout, Payout.Status.PAID, "payout")
        payout.transfer_id = transfer.id
        payout.paid_at = timezone.now()
        payout.processing_since = None
        payout.next_attempt_at = None
        payout.waiting_for_account = False
        payout.last_error = ""
        payout.save(
            update_fields=[
                "status",
                "transfer_id",
                "paid_at",
                "processing_since",
                "next_attempt_at",
                "waiting_for_account",
                "last_error",
                "updated_at",
            ]
        )
        ledger_post(
            transaction_id=f"payout:{payout.pk}:paid",
            assignment=payout.funding.assignment,
            currency=payout.currency,
            lines={Account.STUDENT_PAYABLE: -payout.amount, Account.STUDENT_PAID: payout.amount},
            memo=f"Transfer {transfer.id}",
        )
        audit(action="payout.paid", target=payout, transfer=transfer.id, amount=payout.amount)
        notify(
            recipient=payout.student,
            kind="payout.paid",
            title=f"You were paid {format_money(payout.amount, payout.currency)}",
            body=f"For “{payout.milestone.title}”. It reaches your bank on your payout schedule.",
            link=reverse("payments:earnings"),
            dedupe_key=f"payout:{payout.pk}:paid",
        )
        milestone = Milestone.objects.select_for_update().get(pk=payout.milestone_id)
        if milestone.status == Milestone.Status.APPROVED:
            from applications import services as application_services

            application_services.milestone_mark_paid(milestone=milestone, actor=None)
    return payout


def payout_transfer_sync(*, transfer_id: str) -> str:
    """A ``transfer.*`` event: re-fetch the transfer and record it if we had not yet."""
    transfer = get_provider().transfer_retrieve(transfer_id)
    payout_id = transfer.metadata.get("payout_id", "")
    payout = Payout.objects.filter(pk=payout_id).first() if payout_id.isdigit() else None
    if payout is None:
        return f"no payout of ours for transfer {transfer.id}"
    if transfer.reversed:
        issue_raise(
            key=f"transfer:{transfer.id}:reversed",
            kind="transfer_reversed",
            description=f"Transfer {transfer.id} of payout #{payout.pk} was reversed.",
            assignment=payout.assignment,
        )
    if transfer.transfer_group != f"assignment_{payout.assignment_id}":
        return f"transfer {transfer.id} is not in the payout's transfer group"
    payout_record_transfer(payout_id=payout.pk, transfer=transfer)
    return f"payout #{payout.pk} recorded"


def _attempts_restart(obj, *, refused: str, actor) -> None:
    """A failed payout or refund (row locked by the caller) goes round again: fresh attempts,
    due now, audited as ``<payout|refund>.retried``."""
    Status = type(obj).Status
    if obj.status != Status.FAILED:
        raise InvalidTransition(refused)
    name = type(obj).__name__.lower()
    status_move(obj, Status.PENDING, name)
    obj.attempts = 0
    obj.next_attempt_at = timezone.now()
    obj.failed_at = None
    obj.save(update_fields=["status", "attempts", "next_attempt_at", "failed_at", "updated_at"])
    audit(action=f"{name}.retried", target=obj, actor=actor)


def payout_retry(*, payout: Payout, actor) -> Payout:
    """Staff send a failed payout round again (admin action): fresh attempts, due now."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        _attempts_restart(
            payout,
            refused=f"Only a failed payout can be retried (this one is {payout.status}).",
            actor=actor,
        )
        from .tasks import release_payout

        release_payout.delay_on_commit(payout.pk)
    return payout


# --- Refunds --------------------------------------------------------------------------------


def _refund_create(
    *,
    funding: Funding,
    key: str,
    reason: str,
    amount: int,
    fee_amount: int,
    milestone_ids: list[int],
) -> Refund | None:
    """Inside the caller's transaction, with the funding locked."""
    existing = Refund.objects.filter(key=key).first()
    if existing is not None or amount <= 0:
        return existing
    refund = Refund.objects.create(
        key=key,
        reason=reason,
        funding=funding,
        assignment_id=funding.assignment_id,
        amount=amount,
        fee_amount=fee_amount,
        currency=funding.currency,
        milestone_ids=milestone_ids,
        next_attempt_at=timezone.now() + CLAIM,
    )
    audit(action="refund.created", target=refund, amount=amount, reason=reason)
    from .tasks import execute_refund

    execute_refund.delay_on_commit(refund.pk)
    return refund


def assignment_refund_unreleased(*, assignment: Assignment, actor=None) -> Refund | None:
    """A cancelled assignment: give back the milestones nobody approved, with their fee share.

    Approved milestones are still paid to the student; disputed ones wait for staff. Once per
    assignment (the refund's key), so a second call or a second signal changes nothing.
    """
    with transaction.atomic():
        funding = Funding.objects.select_for_update().filter(assignment=assignment).first()
        assignment = Assignment.objects.get(pk=assignment.pk)
        if assignment.status != Assignment.Status.CANCELLED:
            raise InvalidTransition("Only a cancelled assignment is refunded.")
        if funding is None:
            return None
        if funding.status != Funding.Status.PAID:
            session_id = funding.checkout_session_id
            if session_id and funding.status == Funding.Status.OPEN:
                transaction.on_commit(lambda: _expire_quietly(session_id))
            return None
        already = set()
        for ids in Refund.objects.filter(funding=funding).values_list("milestone_ids", flat=True):
            already.update(ids)
        milestones = [
            m
            for m in assignment.milestones.filter(
                status__in=[
                    Milestone.Status.OPEN,
                    Milestone.Status.SUBMITTED,
                    Milestone.Status.REVISION_REQUESTED,
                ],
                amount__gt=0,
            ).exclude(Exists(Payout.objects.filter(milestone=OuterRef("pk"))))
            if m.pk not in already
        ]
        amount = sum(m.amount for m in milestones)
        fee = sum(fee_for(m.amount, funding.fee_percent) for m in milestones)
        return _refund_create(
            funding=funding,
            key=f"assignment:{assignment.pk}:cancel",
            reason=Refund.Reason.CANCELLATION,
            amount=amount + fee,
            fee_amount=fee,
            milestone_ids=[m.pk for m in milestones],
        )


def _expire_quietly(session_id: str) -> None:
    try:
        get_provider().checkout_expire(session_id)
    except PaymentError:
        logger.warning("Could not expire checkout session %s", session_id, exc_info=True)


def dispute_settle(*, dispute: Dispute, actor=None) -> tuple[Payout | None, Refund | None]:
    """Carry out a resolved dispute: the student's part paid out, the rest refunded."""
    dispute = Dispute.objects.select_related("milestone").get(pk=dispute.pk)
    if dispute.resolved_at is None or not dispute.resolution:
        raise InvalidTransition("This dispute is not resolved yet.")
    milestone = dispute.milestone
    student_amount = {
        Dispute.Resolution.RELEASE: milestone.amount,
        Dispute.Resolution.REFUND: 0,
    }.get(dispute.resolution, dispute.student_amount)
    if student_amount is None or not 0 <= student_amount <= milestone.amount:
        raise DomainError(
            "The student's part must be between 0 and the milestone's amount.",
            code="split_amount",
        )
    with transaction.atomic():
        funding = (
            Funding.objects.select_for_update()
            .filter(assignment_id=milestone.assignment_id)
            .first()
        )
        if funding is None or funding.status != Funding.Status.PAID:
            return None, None
        payout = payout_create(milestone=milestone, amount=student_amount, actor=actor)
        rest = milestone.amount - student_amount
        fee_back = fee_for(milestone.amount, funding.fee_percent) - fee_for(
            student_amount, funding.fee_percent
        )
        refund = None
        if rest > 0:
            refund = _refund_create(
                funding=funding,
                key=f"dispute:{dispute.pk}",
                reason=Refund.Reason.DISPUTE,
                amount=rest + fee_back,
                fee_amount=fee_back,
                milestone_ids=[milestone.pk],
            )
        audit(action="dispute.settled", target=dispute, actor=actor, student_amount=student_amount)
    return payout, refund


def refund_execute(*, refund_id: int) -> Refund:
    """Send a refund through the provider (same three steps as a payout)."""
    now = timezone.now()
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("funding").get(pk=refund_id)
        if refund.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED):
            return refund
        if (
            refund.status == Refund.Status.PROCESSING
            and refund.processing_since
            and refund.processing_since > now - settings.PAYOUT_PROCESSING_LEASE
        ):
            return refund
        if refund.status == Refund.Status.PENDING:
            status_move(refund, Refund.Status.PROCESSING, "refund")
        refund.processing_since = now
        refund.attempts += 1
        refund.first_attempt_at = refund.first_attempt_at or now
        refund.save(
            update_fields=[
                "status",
                "processing_since",
                "attempts",
                "first_attempt_at",
                "updated_at",
            ]
        )
        funding = refund.funding
    try:
        result = get_provider().refund_create(
            payment_intent_id=funding.payment_intent_id or "",
            amount=refund.amount,
            currency=refund.currency,
            metadata={"refund_id": str(refund.pk), "assignment_id": str(refund.assignment_id)},
            idempotency_key=refund.idempotency_key,
        )
    except PaymentError as exc:
        transient = isinstance(exc, ProviderUnavailable)
        with transaction.atomic():
            refund = Refund.objects.select_for_update().get(pk=refund_id)
            if refund.status != Refund.Status.PROCESSING:
                return refund
            refund.last_error = (exc.detail or exc.message)[:2000]
            refund.processing_since = None
            if transient and refund.attempts < settings.PAYOUT_MAX_RETRIES:
                status_move(refund, Refund.Status.PENDING, "refund")
                refund.next_attempt_at = timezone.now() + _backoff(refund.attempts)
            else:
                status_move(refund, Refund.Status.FAILED, "refund")
                refund.failed_at = timezone.now()
                refund.next_attempt_at = None
                issue_raise(
                    key=f"refund:{refund.pk}:failed:{refund.attempts}",
                    kind="refund_failed",
                    description=f"Refund #{refund.pk} failed: {refund.last_error}",
                    assignment=refund.assignment,
                )
            refund.save(
                update_fields=[
                    "status",
                    "last_error",
                    "processing_since",
                    "next_attempt_at",
                    "failed_at",
                    "updated_at",
                ]
            )
            audit(action=f"refund.{refund.status}", target=refund)
        return refund
    return refund_record(
        refund_id=refund.pk, refund_object_id=result.id, amount=result.amount, status=result.status
    )


def refund_record(*, refund_id: int, refund_object_id: str, amount: int, status: str) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("funding").get(pk=refund_id)
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        if amount != refund.amount or status in ("failed", "canceled"):
            issue_raise(
                key=f"refund:{refund_object_id}:{status}",
                kind="refund_mismatch",
                description=f"Provider refund {refund_object_id} for refund #{refund.pk} is "
                f"{status} with {amount} minor units (expected {refund.amount}).",
                assignment=refund.funding.assignment,
            )
            return refund
        _to_processing(refund)
        status_move(refund, Refund.Status.SUCCEEDED, "refund")
        refund.refund_id = refund_object_id
        refund.succeeded_at = timezone.now()
        refund.processing_since = None
        refund.next_attempt_at = None
        refund.last_error = ""
        refund.save(
            update_fields=[
                "status",
                "refund_id",
                "succeeded_at",
                "processing_since",
                "next_attempt_at",
                "last_error",
                "updated_at",
            ]
        )
        ledger_post(
            transaction_id=f"refund:{refund.pk}",
            assignment=refund.funding.assignment,
            currency=refund.currency,
            lines={
                Account.HELD: -(refund.amount - refund.fee_amount),
                Account.PLATFORM_FEE: -refund.fee_amount,
                Account.REFUNDS: refund.amount,
            },
            memo=f"Refund {refund_object_id} ({refund.get_reason_display()})",
        )
        audit(action="refund.succeeded", target=refund, amount=refund.amount)
        if refund.funding.created_by_id:
            notify(
                recipient=refund.funding.created_by,
                kind="payments.refunded",
                title=f"Refund of {format_money(refund.amount, refund.currency)}",
                body=f"{refund.get_reason_display()}: the money goes back to your payment method.",
                link=reverse("payments:billing"),
                dedupe_key=f"refund:{refund.pk}:succeeded",
            )
    return refund


def refund_sync(*, refund_object_id: str) -> str:
    result = get_provider().refund_retrieve(refund_object_id)
    refund_id = result.metadata.get("refund_id", "")
    if not refund_id.isdigit() or not Refund.objects.filter(pk=refund_id).exists():
        return f"no refund of ours for {result.id}"
    if result.status == "succeeded":
        refund_record(
            refund_id=int(refund_id),
            refund_object_id=result.id,
            amount=result.amount,
            status=result.status,
        )
    return f"refund #{refund_id} is {result.status}"


def refund_retry(*, refund: Refund, actor) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        _attempts_restart(refund, refused="Only a failed refund can be retried.", actor=actor)
        from .tasks import execute_refund

        execute_refund.delay_on_commit(refund.pk)
    return refund


# --- Webhook events -------------------------------------------------------------------------


def webhook_event_record(*, provider_name: str, event: ProviderEvent) -> tuple[WebhookEvent, bool]:
    """Store an event once (unique id) and hand it to a task after commit.

    A duplicate delivery returns the stored row and ``False``: nothing else happens.
    """
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                provider=provider_name,
                event_id=event.id,
                type=event.type,
                account=event.account,
                object_id=event.object_id,
                payload=event.payload,
            )
    except IntegrityError:
        return WebhookEvent.objects.get(event_id=event.id), False
    from .tasks import handle_webhook_event

    handle_webhook_event.delay_on_commit(row.pk)
    return row, True


HANDLERS = {
    "checkout.session.completed": lambda oid: funding_confirm(session_id=oid) and "funding checked",
    "checkout.session.async_payment_succeeded": lambda oid: (
        funding_confirm(session_id=oid) and "funding checked"
    ),
    "checkout.session.async_payment_failed": lambda oid: (
        funding_payment_failed(session_id=oid) and "funding failed"
    ),
    "checkout.session.expired": lambda oid: (
        funding_session_expired(session_id=oid) and "session expired"
    ),
    "account.updated": lambda oid: payout_account_sync(account_id=oid) and "account synced",
    "transfer.created": lambda oid: payout_transfer_sync(transfer_id=oid),
    "transfer.updated": lambda oid: payout_transfer_sync(transfer_id=oid),
    "transfer.reversed": lambda oid: payout_transfer_sync(transfer_id=oid),
    "refund.created": lambda oid: refund_sync(refund_object_id=oid),
    "refund.updated": lambda oid: refund_sync(refund_object_id=oid),
}


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Act on a stored event: re-fetch its object from the provider, then the service acts.

    Every handler is idempotent and reads the provider's current state, so duplicates, stale
    payloads and any order of events are harmless. A transient provider error leaves the event
    ``received``: the sweep hands it over again.
    """
    row = WebhookEvent.objects.get(pk=event_pk)
    if row.status != WebhookEvent.Status.RECEIVED:
        return row
    WebhookEvent.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    handler = HANDLERS.get(row.type)
    if handler is None:
        status, note = WebhookEvent.Status.IGNORED, "not a type we act on"
    else:
        try:
            note = handler(row.object_id) or "nothing to do"
            status = WebhookEvent.Status.PROCESSED
        except ProviderUnavailable as exc:
            WebhookEvent.objects.filter(pk=row.pk).update(note=f"will retry: {exc.detail}"[:2000])
            return WebhookEvent.objects.get(pk=row.pk)
        except (PaymentError, DomainError) as exc:
            logger.exception("Webhook event %s failed", row.event_id)
            status, note = WebhookEvent.Status.FAILED, str(exc)
    WebhookEvent.objects.filter(pk=row.pk, status=WebhookEvent.Status.RECEIVED).update(
        status=status, note=str(note)[:2000], processed_at=timezone.now()
    )
    return WebhookEvent.objects.get(pk=row.pk)


# --- Sweeps ---------------------------------------------------------------------------------


@dataclass
class SweepResult:
    payouts_created: int = 0
    payouts_enqueued: int = 0
    refunds_created: int = 0
    refunds_enqueued: int = 0
    disputes_settled: int = 0
    events_enqueued: int = 0


def payments_sweep(*, now: datetime | None = None) -> SweepResult:
    """The beat sweep (every minute): whatever is due, picked with SKIP LOCKED.

    Approved milestones without a payout, payouts and refunds whose next attempt is due (or
    whose worker died mid-call), resolved disputes and cancelled assignments not settled yet, and
    events not handled yet. Each query reads only what is due through a partial index.
    """
    from .tasks import execute_refund, handle_webhook_event, release_payout

    now = now or timezone.now()
    batch = settings.PAYMENTS_SWEEP_BATCH
    lease = settings.PAYOUT_PROCESSING_LEASE
    result = SweepResult()

    with transaction.atomic():
        approved = list(
            Milestone.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=Milestone.Status.APPROVED,
                amount__gt=0,
                assignment__funding__status=Funding.Status.PAID,
            )
            .exclude(Exists(Payout.objects.filter(milestone=OuterRef("pk"))))
            .order_by("approved_at", "pk")[:batch]
        )
        for milestone in approved:
            if payout_create(milestone=milestone):
                result.payouts_created += 1

    with transaction.atomic():
        due = list(
            Payout.objects.select_for_update(skip_locked=True)
            .filter(
                status=Payout.Status.PENDING,
                waiting_for_account=False,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at")[:batch]
        )
        stuck = list(
            Payout.objects.select_for_update(skip_locked=True)
            .filter(status=Payout.Status.PROCESSING, processing_since__lt=now - lease)
            .order_by("processing_since")[:batch]
        )
        # Claimed for two minutes: a lost message is enqueued again by a later sweep.
        Payout.objects.filter(pk__in=[p.pk for p in due]).update(next_attempt_at=now + CLAIM)
        for payout in due + stuck:
            release_payout.delay_on_commit(payout.pk)
        result.payouts_enqueued = len(due) + len(stuck)

    with transaction.atomic():
        refunds = list(
            Refund.objects.select_for_update(skip_locked=True)
            .filter(status=Refund.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:batch]
        ) + list(
            Refund.objects.select_for_update(skip_locked=True)
            .filter(status=Refund.Status.PROCESSING, processing_since__lt=now - lease)
            .order_by("processing_since")[:batch]
        )
        Refund.objects.filter(pk__in=[r.pk for r in refunds], status=Refund.Status.PENDING).update(
            next_attempt_at=now + CLAIM
        )
        for refund in refunds:
            execute_refund.delay_on_commit(refund.pk)
        result.refunds_enqueued = len(refunds)

    # Settlements that a lost signal left undone (recent ones: older ones were settled).
    recent = now - timedelta(days=30)
    disputes = (
        Dispute.objects.filter(
            resolved_at__gte=recent,
            milestone__assignment__funding__status=Funding.Status.PAID,
        )
        .exclude(resolution="")
        .exclude(Exists(Payout.objects.filter(milestone=OuterRef("milestone"))))
        .exclude(Exists(Refund.objects.filter(key=_dispute_key_expression())))
        .select_related("milestone")[:batch]
    )
    for dispute in disputes:
        payout, refund = dispute_settle(dispute=dispute)
        if payout or refund:
            result.disputes_settled += 1
    cancelled = (
        Assignment.objects.filter(
            status=Assignment.Status.CANCELLED,
            cancelled_at__gte=recent,
            funding__status=Funding.Status.PAID,
        )
        .exclude(
            Exists(
                Refund.objects.filter(assignment=OuterRef("pk"), reason=Refund.Reason.CANCELLATION)
            )
        )
        .order_by("cancelled_at")[:batch]
    )
    for assignment in cancelled:
        if assignment_refund_unreleased(assignment=assignment):
            result.refunds_created += 1

    stale = list(
        WebhookEvent.objects.filter(
            status=WebhookEvent.Status.RECEIVED, received_at__lt=now - timedelta(minutes=2)
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:batch]
    )
    for event_pk in stale:
        handle_webhook_event.delay_on_commit(event_pk)
    result.events_enqueued = len(stale)
    return result


def _dispute_key_expression():
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    return Concat(Value("dispute:"), Cast(OuterRef("pk"), output_field=CharField()))


# --- Reconciliation -------------------------------------------------------------------------


def ledger_reconcile(*, since: datetime | None = None) -> int:
    """The nightly check: the ledger against itself, our rows, and the provider's objects.

    Every difference becomes a ``ReconciliationIssue`` (once) and staff are told. Returns the
    number of new issues.
    """
    provider = get_provider()
    since = since or timezone.now() - timedelta(days=35)
    new = 0
    for problem in selectors.ledger_problems():
        if issue_raise(key=f"ledger:{problem[:180]}", kind="ledger", description=problem):
            new += 1
    fundings = (
        Funding.objects.filter(status=Funding.Status.PAID, paid_at__gte=since)
        .select_related("assignment")
        .prefetch_related("payouts", "refunds")
    )
    for funding in fundings:
        found: list[str] = []
        try:
            session: CheckoutSession = provider.checkout_retrieve(funding.checkout_session_id or "")
            if session.payment_status != "paid" or session.amount_total != funding.total_amount:
                found.append(
                    f"funding #{funding.pk}: the provider shows {session.payment_status} "
                    f"{session.amount_total} for {funding.total_amount}"
                )
            transfers = {
                t.id: t for t in provider.transfers_list(transfer_group=funding.transfer_group)
            }
            ours = {p.transfer_id: p for p in funding.payouts.all() if p.transfer_id}
            for transfer_id, transfer in transfers.items():
                payout = ours.get(transfer_id)
                if payout is None:
                    found.append(
                        f"funding #{funding.pk}: transfer {transfer_id} "
                        f"({transfer.amount} {transfer.currency}) is not recorded as a payout"
                    )
                elif transfer.amount != payout.amount or transfer.reversed:
                    found.append(
                        f"payout #{payout.pk}: transfer {transfer_id} is "
                        f"{'reversed' if transfer.reversed else transfer.amount}, "
                        f"we recorded {payout.amount}"
                    )
            for transfer_id, payout in ours.items():
                if transfer_id not in transfers:
                    found.append(
                        f"payout #{payout.pk}: transfer {transfer_id} unknown to the provider"
                    )
            for refund in funding.refunds.all():
                if refund.refund_id:
                    remote = provider.refund_retrieve(refund.refund_id)
                    if remote.amount != refund.amount or remote.status != "succeeded":
                        found.append(
                            f"refund #{refund.pk}: provider shows {remote.status} {remote.amount}, "
                            f"we recorded {refund.amount}"
                        )
        except PaymentError as exc:
            found.append(f"funding #{funding.pk}: could not be checked ({exc.message})")
        for text in found:
            if issue_raise(
                key=f"reconcile:{text[:180]}",
                kind="provider_difference",
                description=text,
                assignment=funding.assignment,
            ):
                new += 1
    return new
