"""What payouts and refunds share: the error format, retries with backoff, the status steps.

The pattern for money that leaves through the provider (payouts, refunds) is three steps:
lock and mark ``processing`` (commit), call the provider with an idempotency key built from our
ids (no transaction open, no lock held), then lock again and record. A worker that dies between
the call and the record leaves the row ``processing``; once its lease has run out the sweep runs
it again.

The provider saves the first answer to a key for 24 hours and replays it, a 500 or a refusal
included, so a retry with the same key could never succeed. Each attempt therefore has its own
key (``<namespace>:payout:<id>:<attempt>``, ``<namespace>:refund:<id>:<attempt>``), and every
attempt after the first looks for what an earlier one may have done (the transfer, by transfer
group and metadata; the refund, among the payment intent's refunds by metadata) before creating
anything: a lost answer or a killed worker never pays or refunds twice.

What a refusal means (``error_outcome``):

- transient (``ProviderUnavailable``): retried with exponential backoff in ``next_attempt_at``,
  picked up by the beat sweep (never long countdowns); after ``PAYOUT_MAX_RETRIES`` it fails;
- the student's account is not ready (``AccountNotReady``): the payout waits for the account,
  released by the ``account.updated`` that says it is ready;
- the platform balance is short (``BalanceInsufficient``): tried again after
  ``PAYOUT_BALANCE_RETRY_SECONDS``;
- anything else is final: the row waits for staff (told; admin "retry" action).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition, status_move

from ..models import (
    LedgerEntry,
)
from ..providers.base import (
    AccountNotReady,
    BalanceInsufficient,
    PaymentActionRequired,
    PaymentDeclined,
    PaymentError,
    ProviderUnavailable,
)

Account = LedgerEntry.Account
IDEMPOTENCY_WINDOW = timedelta(hours=24)


def claim_window() -> timedelta:
    """A row handed to a task is not handed over again by the sweep for this long (a message
    lost with a killed worker is, once it has passed)."""
    return timedelta(seconds=settings.PAYMENTS_CLAIM_SECONDS)


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


class Outcome(StrEnum):
    """What a refused provider call means for the attempt (also its audit action)."""

    RETRY = "retry_scheduled"
    WAIT_FOR_ACCOUNT = "waiting_for_account"
    WAIT_FOR_BALANCE = "waiting_for_balance"
    FINAL = "failed"


def error_outcome(error: PaymentError) -> Outcome:
    if isinstance(error, ProviderUnavailable):
        return Outcome.RETRY
    if isinstance(error, AccountNotReady):
        return Outcome.WAIT_FOR_ACCOUNT
    if isinstance(error, BalanceInsufficient):
        return Outcome.WAIT_FOR_BALANCE
    return Outcome.FINAL


def _staff():
    return get_user_model().objects.filter(is_staff=True, is_active=True)


def _backoff(attempts: int) -> timedelta:
    seconds = settings.PAYOUT_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, 3600))


def _to_processing(obj) -> None:
    """Bring a payout or refund to ``processing`` through the map (recording a late result)."""
    Status = type(obj).Status
    if obj.status == Status.FAILED:
        status_move(obj, Status.PENDING, type(obj).__name__.lower())
    if obj.status == Status.PENDING:
        status_move(obj, Status.PROCESSING, type(obj).__name__.lower())


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
