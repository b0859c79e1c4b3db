"""The provider interface: what payments needs from a payment processor, in our own terms.

Amounts cross this interface in our integer minor units (ISO 4217); each provider converts to its
own units. Errors cross it as one of four classes that tell the caller what to do:

- ``PaymentDeclined``: the user can fix it (another card, other details); say so.
- ``PaymentActionRequired``: send the user to ``redirect_url`` (e.g. authentication).
- ``ProviderUnavailable``: transient (timeout, rate limit, 5xx): retry later with backoff.
- ``ProviderError``: anything else, usually our fault (bad request, auth): logged, not retried.

Two refusals of a transfer are neither ours nor final, and name what to wait for:

- ``AccountNotReady``: the student's connected account cannot receive transfers (onboarding not
  finished, restricted): wait until the provider says it is ready again.
- ``BalanceInsufficient``: the platform balance cannot cover the transfer: try again later.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class PaymentError(Exception):
    """Base class: ``message`` is safe to show to the user."""

    user_message = "The payment provider refused the request."

    def __init__(self, message: str = "", *, code: str = "", detail: str = ""):
        super().__init__(message or self.user_message)
        self.message = message or self.user_message
        self.code = code
        self.detail = detail


class PaymentDeclined(PaymentError):
    user_message = "The payment was declined. Please try another payment method."


class PaymentActionRequired(PaymentError):
    user_message = "The payment needs one more step from you."

    def __init__(self, message: str = "", *, redirect_url: str = "", **kwargs: str):
        super().__init__(message, **kwargs)
        self.redirect_url = redirect_url


class ProviderUnavailable(PaymentError):
    user_message = "The payment provider is not reachable right now. Please try again shortly."


class ProviderError(PaymentError):
    user_message = "Something went wrong on our side with the payment provider. We are on it."


class AccountNotReady(PaymentError):
    user_message = "The payout account cannot receive transfers yet."


class BalanceInsufficient(PaymentError):
    user_message = "The platform balance does not cover this transfer yet."


class InvalidSignature(Exception):
    """A webhook whose signature (or timestamp) does not check out."""


@dataclass(frozen=True)
class ConnectedAccount:
    id: str
    transfers_active: bool
    payouts_enabled: bool
    details_submitted: bool

    @property
    def ready(self) -> bool:
        return self.transfers_active and self.payouts_enabled


@dataclass(frozen=True)
class LineItem:
    name: str
    amount: int


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    amount_total: int
    currency: str
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_id: str = ""
    charge_id: str = ""
    expires_at: int | None = None


@dataclass(frozen=True)
class Transfer:
    id: str
    amount: int
    currency: str
    destination: str
    transfer_group: str
    source_transaction: str
    metadata: dict[str, str] = field(default_factory=dict)
    reversed: bool = False  # fully reversed
    amount_reversed: int = 0  # of ``amount``, taken back so far (full or partial reversals)


@dataclass(frozen=True)
class ChargeFee:
    """What a charge did to the platform balance (its balance transaction): ``amount`` in,
    ``fee`` to the provider, ``net`` kept; in the balance's currency, which may differ from
    the charge's when the platform settles in another currency."""

    balance_transaction_id: str
    amount: int
    fee: int
    net: int
    currency: str
    # Stripe's rate from the charge's currency to the balance's (``amount`` in the charge's
    # currency times it is ``amount`` here), when the money was converted; None otherwise.
    exchange_rate: Decimal | None = None


@dataclass(frozen=True)
class DisputeMovement:
    """One balance transaction of a dispute: ``amount`` negative when funds were withdrawn,
    positive when reinstated; ``fee`` the dispute fee (negative when given back)."""

    id: str
    amount: int
    fee: int
    currency: str


@dataclass(frozen=True)
class Dispute:
    """A chargeback on one of our charges, as the provider sees it now."""

    id: str
    charge_id: str
    payment_intent_id: str
    amount: int
    currency: str
    status: str  # warning_needs_response ... needs_response, under_review, won, lost, prevented
    reason: str
    evidence_due_by: int | None  # Unix time
    movements: tuple[DisputeMovement, ...] = ()


@dataclass(frozen=True)
class RefundResult:
    id: str
    amount: int
    currency: str
    status: str  # pending | succeeded | failed | canceled | requires_action
    payment_intent_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    failure_reason: str = ""


@dataclass(frozen=True)
class ProviderEvent:
    """An event, verified: what it is and which object it is about (to be re-fetched)."""

    id: str
    type: str
    object_id: str
    object_type: str
    account: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(ABC):
    name: str = ""
    test_mode: bool = False

    # --- Connected accounts (students) ---------------------------------------------------------
    @abstractmethod
    def account_create(
        self,
        *,
        email: str,
        student_id: int,
        country: str,
        service_agreement: str,
        idempotency_key: str,
    ) -> ConnectedAccount:
        """An account in the student's ``country``; ``service_agreement`` is ``full`` or
        ``recipient`` (cross-border: receives transfers only)."""

    @abstractmethod
    def account_retrieve(self, account_id: str) -> ConnectedAccount: ...

    @abstractmethod
    def account_link_create(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        """A fresh, single-use onboarding URL on the provider's site."""

    # --- Funding (Checkout on the platform account) --------------------------------------------
    @abstractmethod
    def checkout_create(
        self,
        *,
        line_items: list[LineItem],
        currency: str,
        transfer_group: str,
        metadata: dict[str, str],
        customer_email: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutSession: ...

    @abstractmethod
    def checkout_retrieve(self, session_id: str) -> CheckoutSession: ...

    @abstractmethod
    def checkout_expire(self, session_id: str) -> CheckoutSession:
        """Close an open session so that it can no longer be paid, and return it as it now is.

        A session that is not open (already expired, or completed: paid or paying) is returned
        unchanged; so is one completed while we asked. Only ``status == "expired"`` in the
        answer means nobody can pay it any more.
        """

    # --- Transfers to connected accounts -------------------------------------------------------
    @abstractmethod
    def transfer_create(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        source_transaction: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> Transfer: ...

    @abstractmethod
    def transfer_retrieve(self, transfer_id: str) -> Transfer: ...

    @abstractmethod
    def transfers_list(self, *, transfer_group: str) -> list[Transfer]: ...

    # --- Refunds -------------------------------------------------------------------------------
    @abstractmethod
    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount: int,
        currency: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundResult: ...

    @abstractmethod
    def refund_retrieve(self, refund_id: str) -> RefundResult: ...

    @abstractmethod
    def refunds_list(self, *, payment_intent_id: str) -> list[RefundResult]:
        """Every refund of the payment, newest first (a retry looks for an earlier attempt's)."""

    # --- Disputes (chargebacks) -----------------------------------------------------------------
    @abstractmethod
    def dispute_retrieve(self, dispute_id: str) -> Dispute: ...

    # --- Charges -------------------------------------------------------------------------------
    @abstractmethod
    def charge_fee(self, charge_id: str) -> ChargeFee | None:
        """The charge's balance transaction, or None while the provider has not made it yet."""

    # --- Events --------------------------------------------------------------------------------
    @abstractmethod
    def event_parse(self, *, payload: bytes, signature: str) -> ProviderEvent:
        """Verify ``signature`` over the raw ``payload``; raise ``InvalidSignature`` otherwise."""


def event_from_dict(data: dict[str, Any]) -> ProviderEvent:
    """Our view of a provider event dict (Stripe's shape, which the test provider copies)."""
    obj = (data.get("data") or {}).get("object") or {}
    return ProviderEvent(
        id=str(data.get("id", "")),
        type=str(data.get("type", "")),
        object_id=str(obj.get("id", "")),
        object_type=str(obj.get("object", "")),
        account=str(data.get("account") or ""),
        payload=data,
    )
