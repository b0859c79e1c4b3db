"""The employer's payment: Checkout Sessions started, fulfilled, failed or expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import employer_for_user, is_member
from applications.models import Assignment
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, NotPermitted, status_move
from marketplace.core.links import absolute
from marketplace.core.money import format_money
from notifications.services import notify

from .. import selectors
from ..models import Funding, Refund
from ..providers import get_provider
from ..providers.base import CheckoutSession, LineItem, PaymentError
from .attempts import Account, PaymentRefused, _refused
from .ledger import ledger_post
from .payout_accounts import payout_account_reminder_schedule
from .reconciliation import issue_raise
from .refunds import cancelled_assignment_refund


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
    if not is_member(actor, assignment.posting.employer_id):
        raise NotPermitted("Only the employer of this assignment can fund it.")
    employer = employer_for_user(actor)  # the one is_member just read (cached on the user)
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
    funding, previous, reuse = _funding_open(
        assignment=assignment, employer=employer, actor=actor, quote=quote
    )
    if reuse:
        return funding
    if previous:
        # The old session is closed at Stripe before anything else: never two payable pages.
        closed = _session_close(previous)
        failed_before = funding.status == Funding.Status.FAILED and closed.payment_status != "paid"
        if closed.status == "complete" and not failed_before:
            # Paid (or paying) while the employer came back: book it, open nothing new.
            return funding_confirm(session_id=previous) or funding
        funding = _funding_restart(funding=funding, previous=previous, actor=actor)
        if funding.checkout_session_id:
            return funding  # a concurrent call already opened the next one
    return _session_open(funding=funding, employer=employer, actor=actor)


def _funding_open(*, assignment, employer, actor, quote) -> tuple[Funding, str, bool]:
    """Lock and check; create the funding on the first call. Returns the funding, the session
    to close before a new one (if any), and whether the current session is still good."""
    now = timezone.now()
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
                provider=get_provider().name,
                currency=quote.currency,
                amount=quote.amount,
                fee_percent=quote.fee_percent,
                fee_amount=quote.fee,
                total_amount=quote.total,
                checkout_attempt=1,
            )
            audit(action="funding.started", target=funding, actor=actor, total=quote.total)
            return funding, "", False
        if funding.status == Funding.Status.PAID:
            raise InvalidTransition("This assignment is already funded.")
        if funding.status == Funding.Status.PROCESSING:
            raise InvalidTransition(
                "A payment for this assignment is being processed; you will be told when it clears."
            )
        if funding.status == Funding.Status.OPEN and not funding.checkout_session_id:
            return funding, "", False  # no session yet (a refused attempt moved to a new key)
        still_good = (
            funding.status == Funding.Status.OPEN
            and funding.checkout_expires_at
            and funding.checkout_expires_at > now + timedelta(minutes=10)
        )
        return funding, funding.checkout_session_id or "", bool(still_good)


def _session_close(session_id: str) -> CheckoutSession:
    """Expire ``session_id`` at the provider; raise (nothing changed) unless it is closed.

    Until this returns, the old session stays the funding's one session: if expiring fails,
    the employer is told to try again and the old page is the only one that can be paid.
    """
    try:
        session = get_provider().checkout_expire(session_id)
    except PaymentError as exc:
        raise _refused(exc) from exc
    if session.status not in ("expired", "complete"):
        raise PaymentRefused(
            "The previous payment page could not be closed yet; please try again in a moment.",
            code="provider_unavailable",
        )
    return session


def _funding_restart(*, funding: Funding, previous: str, actor) -> Funding:
    """The old session is expired: a new attempt (and idempotency key) for the next one."""
    with transaction.atomic():
        funding = Funding.objects.select_for_update().get(pk=funding.pk)
        if funding.checkout_session_id != previous:
            return funding  # another request restarted it meanwhile
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
        audit(action="funding.restarted", target=funding, actor=actor, expired=previous)
    return funding


def _session_open(*, funding: Funding, employer, actor) -> Funding:
    """Create the attempt's Checkout Session (its key makes a repeat return the same one)."""
    assignment = funding.assignment
    milestones = list(assignment.milestones.order_by("position", "id"))
    items = [LineItem(name=m.title, amount=m.amount) for m in milestones if m.amount > 0]
    if funding.fee_amount:
        items.append(
            LineItem(name=f"Platform fee ({funding.fee_percent}%)", amount=funding.fee_amount)
        )
    return_path = reverse("payments:funding_return", args=[funding.pk])
    try:
        session = get_provider().checkout_create(
            line_items=items,
            currency=funding.currency,
            transfer_group=funding.transfer_group,
            metadata={
                "funding_id": str(funding.pk),
                "assignment_id": str(assignment.pk),
                "employer_id": str(employer.pk),
            },
            customer_email=actor.email,
            success_url=absolute(return_path) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute(reverse("payments:funding", args=[assignment.pk])) + "?cancelled=1",
            idempotency_key=funding.checkout_idempotency_key,
        )
    except PaymentError as exc:
        _checkout_attempt_refused(funding_id=funding.pk)
        raise _refused(exc) from exc
    with transaction.atomic():
        funding = Funding.objects.select_for_update().get(pk=funding.pk)
        if session.id not in funding.checkout_sessions:
            funding.checkout_sessions = [*funding.checkout_sessions, session.id]
            funding.save(update_fields=["checkout_sessions", "updated_at"])
        if funding.status == Funding.Status.OPEN and not funding.checkout_session_id:
            funding.checkout_session_id = session.id
            funding.checkout_url = session.url
            funding.checkout_expires_at = (
                datetime.fromtimestamp(session.expires_at, tz=UTC)
                if session.expires_at
                else timezone.now() + timedelta(hours=24)
            )
            funding.save(
                update_fields=[
                    "checkout_session_id",
                    "checkout_url",
                    "checkout_expires_at",
                    "updated_at",
                ]
            )
        elif funding.checkout_session_id != session.id:
            # Paid or restarted meanwhile: this session must not stay payable.
            from ..tasks import expire_other_sessions

            expire_other_sessions.delay_on_commit(funding.pk)
    return funding


def funding_expire_other_sessions(*, funding_id: int) -> list[str]:
    """Expire every session of a funding other than its current one (after it is paid, or when
    a session was opened next to another). Returns the sessions that are closed now.

    A session that cannot be closed raises an issue for staff, since it could still be paid;
    one that turns out paid goes through ``funding_confirm`` (a second payment: staff refund it).
    """
    funding = Funding.objects.filter(pk=funding_id).first()
    if funding is None:
        return []
    closed = []
    for session_id in funding.checkout_sessions:
        if session_id == funding.checkout_session_id:
            continue
        try:
            session = get_provider().checkout_expire(session_id)
        except PaymentError as exc:
            session = None
            error = exc.message
        if session is not None and session.status == "expired":
            closed.append(session_id)
        elif session is not None and session.status == "complete":
            funding_confirm(session_id=session_id)
        else:
            issue_raise(
                key=f"session:{session_id}:still-open",
                kind="open_session",
                description=f"Checkout session {session_id} of funding #{funding.pk} could "
                f"not be expired ({error if session is None else session.status}) and may "
                "still be paid: expire it in the Stripe dashboard.",
                assignment=funding.assignment,
            )
    return closed


def _checkout_attempt_refused(*, funding_id: int) -> None:
    """The provider replays a refused key's answer (a 500 too) for 24 hours: the employer's next
    try is a new attempt with a new key, never the refused one again."""
    with transaction.atomic():
        funding = Funding.objects.select_for_update().get(pk=funding_id)
        if funding.status == Funding.Status.OPEN and not funding.checkout_session_id:
            funding.checkout_attempt += 1
            funding.save(update_fields=["checkout_attempt", "updated_at"])


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
        mismatch = _session_mismatch(session, funding)
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
        _funding_book_paid(funding, session)
        _assignment_after_payment(funding)
    return funding


def _session_mismatch(session: CheckoutSession, funding: Funding) -> list[str]:
    """How a paid session differs from the funding it names (empty when it matches)."""
    mismatch = []
    if session.currency != funding.currency:
        mismatch.append(f"currency {session.currency} instead of {funding.currency}")
    if session.amount_total != funding.total_amount:
        mismatch.append(
            f"amount {session.amount_total} instead of {funding.total_amount} minor units"
        )
    if session.metadata.get("assignment_id") != str(funding.assignment_id):
        mismatch.append("another assignment in the metadata")
    return mismatch


def _funding_book_paid(funding: Funding, session: CheckoutSession) -> None:
    """Mark the locked funding paid by ``session`` and post the held money to the ledger."""
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
    # No notification of our own: assignment_mark_funded tells the student and every member
    # of the employer (the payer too) once; a second "funded" from here was a duplicate.
    from ..tasks import expire_other_sessions, record_stripe_fee

    record_stripe_fee.delay_on_commit(funding.pk)
    if len(funding.checkout_sessions) > 1:
        expire_other_sessions.delay_on_commit(funding.pk)


def _assignment_after_payment(funding: Funding) -> None:
    """The paid funding's assignment starts; if it was cancelled meanwhile, it is refunded."""
    assignment = Assignment.objects.select_for_update().get(pk=funding.assignment_id)
    if assignment.status == Assignment.Status.CANCELLED:
        # Cleared after the assignment was cancelled (a bank debit still processing at the
        # funding deadline): the cancelled assignment's one refund, so that the
        # cancellation and its sweep, in any order, find it and give nothing back twice.
        cancelled_assignment_refund(
            funding=funding, assignment=assignment, reason=Refund.Reason.LATE_PAYMENT
        )
    else:
        from applications import services as application_services

        application_services.assignment_mark_funded(assignment=assignment, actor=None)
        payout_account_reminder_schedule(assignment=assignment)


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
