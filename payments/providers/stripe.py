"""Stripe, through the official library's ``StripeClient``. The only module that imports ``stripe``.

Separate charges and transfers on Connect: Checkout Sessions on the platform account, Express
connected accounts for students, Transfers with ``source_transaction`` and ``transfer_group``,
Refunds on the payment intent. Every write carries the caller's idempotency key (Stripe keeps
them for 24 hours); the library retries network errors and 5xx itself (``max_network_retries=2``),
and whatever still fails is translated into one of the errors in ``base``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import stripe
from django.conf import settings
from stripe.params import (
    AccountCreateParams,
    AccountLinkCreateParams,
    RefundCreateParams,
    RefundListParams,
    TransferCreateParams,
    TransferListParams,
)
from stripe.params.checkout import SessionCreateParams, SessionRetrieveParams

from .base import (
    AccountNotReady,
    BalanceInsufficient,
    ChargeFee,
    CheckoutSession,
    ConnectedAccount,
    Dispute,
    DisputeMovement,
    InvalidSignature,
    LineItem,
    PaymentActionRequired,
    PaymentDeclined,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    ProviderUnavailable,
    RefundResult,
    Transfer,
    event_from_dict,
)

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# Where Stripe's smallest unit is not ISO's minor unit: ISK and UGX are zero-decimal in ISO 4217
# but Stripe takes them as two-decimal amounts (a multiple of 100).
_TWO_DECIMAL_FOR_STRIPE = frozenset({"ISK", "UGX"})
# Stripe's three-decimal currencies need the last digit to be 0.
_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def to_stripe_amount(amount: int, currency: str) -> int:
    currency = currency.upper()
    if currency in _TWO_DECIMAL_FOR_STRIPE:
        return amount * 100
    if currency in _THREE_DECIMAL and amount % 10:
        raise ProviderError(
            f"Stripe takes {currency} amounts in multiples of 10 minor units; got {amount}.",
            code="amount_precision",
        )
    return amount


def _signed_from_stripe(amount: int, currency: str | None) -> int:
    """``from_stripe_amount`` for amounts that may be negative (balance transactions)."""
    value = from_stripe_amount(abs(amount), currency or "")
    return -value if amount < 0 else value


def from_stripe_amount(amount: int, currency: str) -> int:
    currency = (currency or "").upper()
    if currency in _TWO_DECIMAL_FOR_STRIPE:
        return amount // 100
    return amount


class _RequestsClient(stripe.RequestsClient):
    """The library's client with a configurable retry delay (tests make it short)."""

    def _sleep_time_seconds(self, num_retries: int) -> float:
        base = float(settings.STRIPE_NETWORK_RETRY_DELAY)
        return min(base * 2.0 ** max(num_retries - 1, 0), 5.0)


# Stripe's codes for a destination that cannot take a transfer now (the student can fix it).
_ACCOUNT_NOT_READY = frozenset(
    {
        "account_invalid",
        "insufficient_capabilities_for_transfer",
        "transfers_not_allowed",
        "payouts_not_allowed",
    }
)


def _translate(exc: stripe.StripeError, action: str) -> Exception:
    """The answers of ``base`` for what the library raised."""
    detail = f"{action}: {type(exc).__name__} {exc.http_status or ''} {exc.code or ''} {exc}"
    if exc.code == "balance_insufficient":
        return BalanceInsufficient(code=exc.code, detail=detail)
    if exc.code in _ACCOUNT_NOT_READY:
        return AccountNotReady(code=exc.code or "", detail=detail)
    if isinstance(exc, stripe.CardError):
        if exc.code == "authentication_required":
            return PaymentActionRequired(code=exc.code or "", detail=detail)
        return PaymentDeclined(exc.user_message or "", code=exc.code or "", detail=detail)
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return ProviderUnavailable(code=exc.code or "unavailable", detail=detail)
    if isinstance(exc, stripe.APIError) and (exc.http_status or 500) >= 500:
        return ProviderUnavailable(code=exc.code or "unavailable", detail=detail)
    if isinstance(exc, stripe.APIError) and exc.http_status == 409:
        return ProviderUnavailable(code=exc.code or "conflict", detail=detail)
    logger.error("Stripe refused %s", detail)
    return ProviderError(code=exc.code or "provider_error", detail=detail)


def _dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj or {})


class StripeProvider(PaymentProvider):
    name = "stripe"
    test_mode = False

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secrets: list[str],
        api_base: str = "",
        timeout: float = 20.0,
    ):
        base_addresses = {}
        if api_base:
            # A local stand-in of the Stripe API (tests): every base address points there.
            base_addresses = {"api": api_base, "connect": api_base, "files": api_base}
        self.client = stripe.StripeClient(
            api_key,
            max_network_retries=2,
            base_addresses=base_addresses,  # type: ignore[arg-type]
            http_client=_RequestsClient(timeout=timeout),
        )
        self.webhook_secrets = [s for s in webhook_secrets if s]
        self.test_mode = api_key.startswith("sk_test_") or api_key.startswith("rk_test_")

    def _call(
        self, action: str, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Call the library, with its errors translated. Typed through ``ParamSpec``: mypy checks
        the arguments against the library's signature, so each parameter dictionary is checked
        against the library's own ``TypedDict`` (a misspelt or mistyped parameter fails lint)."""
        try:
            return function(*args, **kwargs)
        except stripe.StripeError as exc:
            raise _translate(exc, action) from exc

    # --- Connected accounts --------------------------------------------------------------------
    @staticmethod
    def _account(data: dict[str, Any]) -> ConnectedAccount:
        capabilities = data.get("capabilities") or {}
        return ConnectedAccount(
            id=data["id"],
            transfers_active=capabilities.get("transfers") == "active",
            payouts_enabled=bool(data.get("payouts_enabled")),
            details_submitted=bool(data.get("details_submitted")),
        )

    def account_create(
        self,
        *,
        email: str,
        student_id: int,
        country: str,
        service_agreement: str,
        idempotency_key: str,
    ) -> ConnectedAccount:
        params: AccountCreateParams = {
            "type": "express",
            "country": country,
            "email": email,
            "capabilities": {"transfers": {"requested": True}},
            "tos_acceptance": {"service_agreement": service_agreement},
            "metadata": {"student_id": str(student_id)},
        }
        account = self._call(
            "account create",
            self.client.v1.accounts.create,
            params,
            {"idempotency_key": idempotency_key},
        )
        return self._account(_dict(account))

    def account_retrieve(self, account_id: str) -> ConnectedAccount:
        account = self._call("account retrieve", self.client.v1.accounts.retrieve, account_id)
        return self._account(_dict(account))

    def account_link_create(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        link = self._call(
            "account link create",
            self.client.v1.account_links.create,
            AccountLinkCreateParams(
                account=account_id,
                refresh_url=refresh_url,
                return_url=return_url,
                type="account_onboarding",
            ),
        )
        return str(_dict(link)["url"])

    # --- Checkout ------------------------------------------------------------------------------
    @staticmethod
    def _session(data: dict[str, Any]) -> CheckoutSession:
        currency = (data.get("currency") or "").upper()
        intent = data.get("payment_intent") or ""
        charge = ""
        if isinstance(intent, dict):
            latest = intent.get("latest_charge") or ""
            charge = latest.get("id", "") if isinstance(latest, dict) else latest
            intent = intent.get("id", "")
        return CheckoutSession(
            id=data["id"],
            url=data.get("url") or "",
            status=data.get("status") or "",
            payment_status=data.get("payment_status") or "",
            amount_total=from_stripe_amount(int(data.get("amount_total") or 0), currency),
            currency=currency,
            metadata=dict(data.get("metadata") or {}),
            payment_intent_id=intent,
            charge_id=charge,
            expires_at=data.get("expires_at"),
        )

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
    ) -> CheckoutSession:
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": to_stripe_amount(item.amount, currency),
                        "product_data": {"name": item.name[:250]},
                    },
                }
                for item in line_items
            ],
            "payment_intent_data": {"transfer_group": transfer_group, "metadata": metadata},
            "metadata": metadata,
            "client_reference_id": metadata.get("funding_id", ""),
            "customer_email": customer_email,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        session = self._call(
            "checkout create",
            self.client.v1.checkout.sessions.create,
            params,
            {"idempotency_key": idempotency_key},
        )
        return self._session(_dict(session))

    def checkout_retrieve(self, session_id: str) -> CheckoutSession:
        session = self._call(
            "checkout retrieve",
            self.client.v1.checkout.sessions.retrieve,
            session_id,
            SessionRetrieveParams(expand=["payment_intent"]),
        )
        return self._session(_dict(session))

    def checkout_expire(self, session_id: str) -> CheckoutSession:
        session = self.checkout_retrieve(session_id)
        if session.status != "open":
            return session
        try:
            # No key of ours: expiring is idempotent by itself (the state is read first), and a
            # fixed key would replay a first 500 for 24 hours. The library gives each call its
            # own key for its network retries.
            expired = self._call(
                "checkout expire", self.client.v1.checkout.sessions.expire, session_id
            )
        except ProviderError:
            # Stripe refuses to expire a session that is no longer open: the customer may have
            # completed it between our two calls. The session's own state says which.
            session = self.checkout_retrieve(session_id)
            if session.status != "open":
                return session
            raise
        return self._session(_dict(expired))

    # --- Transfers -----------------------------------------------------------------------------
    @staticmethod
    def _transfer(data: dict[str, Any]) -> Transfer:
        currency = (data.get("currency") or "").upper()
        return Transfer(
            id=data["id"],
            amount=from_stripe_amount(int(data.get("amount") or 0), currency),
            currency=currency,
            destination=data.get("destination") or "",
            transfer_group=data.get("transfer_group") or "",
            source_transaction=data.get("source_transaction") or "",
            metadata=dict(data.get("metadata") or {}),
            reversed=bool(data.get("reversed")),
            amount_reversed=from_stripe_amount(int(data.get("amount_reversed") or 0), currency),
        )

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
    ) -> Transfer:
        params: TransferCreateParams = {
            "amount": to_stripe_amount(amount, currency),
            "currency": currency.lower(),
            "destination": destination,
            "transfer_group": transfer_group,
            "metadata": metadata,
        }
        if source_transaction:
            # Funds the transfer from the charge itself: it does not wait for the balance.
            params["source_transaction"] = source_transaction
        transfer = self._call(
            "transfer create",
            self.client.v1.transfers.create,
            params,
            {"idempotency_key": idempotency_key},
        )
        return self._transfer(_dict(transfer))

    def transfer_retrieve(self, transfer_id: str) -> Transfer:
        transfer = self._call("transfer retrieve", self.client.v1.transfers.retrieve, transfer_id)
        return self._transfer(_dict(transfer))

    def transfers_list(self, *, transfer_group: str) -> list[Transfer]:
        page = self._call(
            "transfer list",
            self.client.v1.transfers.list,
            TransferListParams(transfer_group=transfer_group, limit=100),
        )
        try:
            return [self._transfer(_dict(item)) for item in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise _translate(exc, "transfer list") from exc

    # --- Refunds -------------------------------------------------------------------------------
    @staticmethod
    def _refund(data: dict[str, Any]) -> RefundResult:
        currency = (data.get("currency") or "").upper()
        return RefundResult(
            id=data["id"],
            amount=from_stripe_amount(int(data.get("amount") or 0), currency),
            currency=currency,
            status=data.get("status") or "",
            payment_intent_id=data.get("payment_intent") or "",
            metadata=dict(data.get("metadata") or {}),
            failure_reason=data.get("failure_reason") or "",
        )

    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount: int,
        currency: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundResult:
        refund = self._call(
            "refund create",
            self.client.v1.refunds.create,
            RefundCreateParams(
                payment_intent=payment_intent_id,
                amount=to_stripe_amount(amount, currency),
                metadata=metadata,
            ),
            {"idempotency_key": idempotency_key},
        )
        return self._refund(_dict(refund))

    def dispute_retrieve(self, dispute_id: str) -> Dispute:
        data = _dict(self._call("dispute retrieve", self.client.v1.disputes.retrieve, dispute_id))
        currency = (data.get("currency") or "").upper()
        movements = tuple(
            DisputeMovement(
                id=txn["id"],
                amount=_signed_from_stripe(int(txn.get("amount") or 0), txn.get("currency")),
                fee=_signed_from_stripe(int(txn.get("fee") or 0), txn.get("currency")),
                currency=(txn.get("currency") or "").upper(),
            )
            for txn in data.get("balance_transactions") or []
        )
        charge = data.get("charge")
        intent = data.get("payment_intent")
        return Dispute(
            id=data["id"],
            charge_id=charge if isinstance(charge, str) else (charge or {}).get("id", ""),
            payment_intent_id=intent if isinstance(intent, str) else (intent or {}).get("id", ""),
            amount=from_stripe_amount(int(data.get("amount") or 0), currency),
            currency=currency,
            status=data.get("status") or "",
            reason=data.get("reason") or "",
            evidence_due_by=(data.get("evidence_details") or {}).get("due_by"),
            movements=movements,
        )

    def charge_fee(self, charge_id: str) -> ChargeFee | None:
        charge = self._call(
            "charge retrieve",
            self.client.v1.charges.retrieve,
            charge_id,
            {"expand": ["balance_transaction"]},
        )
        txn = _dict(charge).get("balance_transaction")
        if not isinstance(txn, dict):
            return None  # not made yet (charge.updated tells when it is)
        currency = (txn.get("currency") or "").upper()
        return ChargeFee(
            balance_transaction_id=txn["id"],
            amount=from_stripe_amount(int(txn.get("amount") or 0), currency),
            fee=from_stripe_amount(int(txn.get("fee") or 0), currency),
            net=from_stripe_amount(int(txn.get("net") or 0), currency),
            currency=currency,
            exchange_rate=(
                Decimal(str(txn["exchange_rate"])) if txn.get("exchange_rate") else None
            ),
        )

    def refund_retrieve(self, refund_id: str) -> RefundResult:
        refund = self._call("refund retrieve", self.client.v1.refunds.retrieve, refund_id)
        return self._refund(_dict(refund))

    def refunds_list(self, *, payment_intent_id: str) -> list[RefundResult]:
        page = self._call(
            "refund list",
            self.client.v1.refunds.list,
            RefundListParams(payment_intent=payment_intent_id, limit=100),
        )
        try:
            return [self._refund(_dict(item)) for item in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise _translate(exc, "refund list") from exc

    # --- Events --------------------------------------------------------------------------------
    def event_parse(self, *, payload: bytes, signature: str) -> ProviderEvent:
        """Check the ``Stripe-Signature`` header over the raw body against each configured secret
        (the platform endpoint and the Connect endpoint each have one)."""
        if not signature or not self.webhook_secrets:
            raise InvalidSignature("missing signature or no webhook secret configured")
        last: Exception | None = None
        for secret in self.webhook_secrets:
            try:
                event = self.client.construct_event(payload, signature, secret)
            except stripe.SignatureVerificationError as exc:
                last = exc
                continue
            except ValueError as exc:  # not JSON
                raise InvalidSignature(str(exc)) from exc
            return event_from_dict(_dict(event))
        raise InvalidSignature(str(last))
