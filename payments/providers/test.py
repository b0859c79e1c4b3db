"""The test provider: the whole money flow offline, labelled "test mode: no real money moves".

Used when no Stripe key is configured (``make run``, demos, most tests). Its objects live in the
``TestModeObject`` table so that the web process and the worker see the same ones. Its checkout
is a local page with pay and fail buttons; its onboarding is a local page too. Those pages produce
the same events Stripe would send (``checkout.session.completed``, ``account.updated``), which go
through the same recording and handling as signed webhooks, never a shortcut.

Transfers succeed at once, or fail on request: ``failure_set(mode=..., times=...)`` (tests) or an
account onboarded with "transfers fail" (demos). ``mode`` is ``unavailable`` (transient),
``declined``, ``error``, ``balance`` (the platform balance is short) or ``account`` (the
account cannot take transfers). Like Stripe, an idempotency key's first answer is its answer,
a failure included: only a new key can succeed.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.urls import reverse

if TYPE_CHECKING:
    from payments.models import TestModeObject

from .base import (
    AccountNotReady,
    BalanceInsufficient,
    ChargeFee,
    CheckoutSession,
    ConnectedAccount,
    Dispute,
    InvalidSignature,
    LineItem,
    PaymentDeclined,
    PaymentError,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    ProviderUnavailable,
    RefundResult,
    Transfer,
)

FAILURES = {
    "unavailable": ProviderUnavailable,
    "declined": PaymentDeclined,
    "error": ProviderError,
    "balance": BalanceInsufficient,
    "account": AccountNotReady,
}
CONTROL_ID = "control_transfers"


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def _model() -> type[TestModeObject]:
    from payments.models import TestModeObject

    return TestModeObject


def _get(kind: str, object_id: str) -> dict[str, Any]:
    # The ids come from URLs; PostgreSQL refuses a NUL character in a query.
    obj = None if "\x00" in object_id else _model().objects.filter(pk=object_id, kind=kind).first()
    if obj is None:
        raise ProviderError(f"No such {kind}: {object_id}", code="resource_missing")
    return cast(dict[str, Any], obj.data)


def _save(kind: str, object_id: str, data: dict[str, Any]) -> None:
    _model().objects.update_or_create(pk=object_id, defaults={"kind": kind, "data": data})


def _key_id(key: str) -> str:
    key_id = f"idem_{key}"
    return key_id if len(key_id) <= 64 else f"idem_{hashlib.sha256(key.encode()).hexdigest()}"


def _idempotent(key: str, kind: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Like the provider: the same idempotency key returns the first result (or error)."""
    Model = _model()
    key_id = _key_id(key)
    with transaction.atomic():
        existing = Model.objects.select_for_update().filter(pk=key_id).first()
        if existing is not None:
            if "error" in existing.data:
                raise FAILURES[existing.data["error"]](
                    code=f"test_{existing.data['error']}", detail="test mode: replayed failure"
                )
            return _get(kind, existing.data["object_id"])
        data = make()
        _save(kind, data["id"], data)
        Model.objects.create(pk=key_id, kind="idempotency", data={"object_id": data["id"]})
        return data


def failure_set(*, mode: str | None, times: int = 1_000_000) -> None:
    """Make the next ``times`` transfers and refunds fail with ``mode`` (None: succeed again)."""
    if mode is not None and mode not in FAILURES:
        raise ValueError(f"unknown failure mode {mode!r}")
    _save("control", CONTROL_ID, {"id": CONTROL_ID, "mode": mode, "remaining": times})


def _fail_once_per_key(key: str, account: dict[str, Any] | None = None) -> None:
    """A new key may fail as requested; its failure is saved and replayed like a result."""
    key_id = _key_id(key)
    if _model().objects.filter(pk=key_id).exists():
        return  # answered before: _idempotent replays it
    try:
        _maybe_fail(account)
    except PaymentError as exc:
        mode = next((m for m, cls in FAILURES.items() if type(exc) is cls), "declined")
        _model().objects.get_or_create(
            pk=key_id, defaults={"kind": "idempotency", "data": {"error": mode}}
        )
        raise


def _maybe_fail(account: dict[str, Any] | None = None) -> None:
    Model = _model()
    mode = None
    with transaction.atomic():
        control = Model.objects.select_for_update().filter(pk=CONTROL_ID).first()
        if control and control.data.get("mode") and control.data.get("remaining", 0) > 0:
            control.data["remaining"] -= 1
            control.save(update_fields=["data"])
            mode = control.data["mode"]
    if mode:  # raised after the block, so that the count is kept
        raise FAILURES[mode](code=f"test_{mode}", detail="test mode: failure requested")
    if account and account.get("fail_transfers"):
        raise PaymentDeclined(
            "Test mode: this account was set up so that transfers fail.",
            code="test_account_fails",
        )


class TestProvider(PaymentProvider):
    __test__ = False  # not a pytest test class
    name = "test"
    test_mode = True

    # --- Connected accounts --------------------------------------------------------------------
    @staticmethod
    def _account(data: dict[str, Any]) -> ConnectedAccount:
        return ConnectedAccount(
            id=data["id"],
            transfers_active=data.get("transfers") == "active",
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
        data = _idempotent(
            idempotency_key,
            "account",
            lambda: {
                "id": _new_id("acct"),
                "email": email,
                "student_id": student_id,
                "country": country,
                "service_agreement": service_agreement,
                "transfers": "inactive",
                "payouts_enabled": False,
                "details_submitted": False,
            },
        )
        return self._account(data)

    def account_retrieve(self, account_id: str) -> ConnectedAccount:
        return self._account(_get("account", account_id))

    def account_link_create(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        _get("account", account_id)
        link_id = _new_id("link")
        _save(
            "account_link",
            link_id,
            {
                "id": link_id,
                "account": account_id,
                "return_url": return_url,
                "refresh_url": refresh_url,
            },
        )
        return reverse("payments:test_onboarding", args=[link_id])

    def onboarding_account(self, link_id: str) -> str:
        """The connected account that the local onboarding page ``link_id`` sets up."""
        return str(_get("account_link", link_id)["account"])

    def onboarding_complete(
        self, *, link_id: str, fail_transfers: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """The local onboarding page's "finish" button: returns (return_url, event)."""
        link = _get("account_link", link_id)
        account = _get("account", link["account"])
        account.update(
            transfers="active",
            payouts_enabled=True,
            details_submitted=True,
            fail_transfers=fail_transfers,
        )
        _save("account", account["id"], account)
        event = self._event(
            "account.updated", {"object": "account", **account}, account=account["id"]
        )
        return link["return_url"], event

    # --- Checkout ------------------------------------------------------------------------------
    @staticmethod
    def _session(data: dict[str, Any]) -> CheckoutSession:
        status = data["status"]
        if status == "open" and data["expires_at"] <= time.time():
            status = "expired"
        return CheckoutSession(
            id=data["id"],
            url=data["url"],
            status=status,
            payment_status=data["payment_status"],
            amount_total=data["amount_total"],
            currency=data["currency"],
            metadata=data["metadata"],
            payment_intent_id=data.get("payment_intent") or "",
            charge_id=data.get("charge") or "",
            expires_at=data["expires_at"],
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
        def make() -> dict[str, Any]:
            session_id = _new_id("cs")
            return {
                "id": session_id,
                "url": reverse("payments:test_checkout", args=[session_id]),
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": sum(item.amount for item in line_items),
                "currency": currency.upper(),
                "line_items": [{"name": i.name, "amount": i.amount} for i in line_items],
                "metadata": metadata,
                "transfer_group": transfer_group,
                "customer_email": customer_email,
                "success_url": success_url.replace("{CHECKOUT_SESSION_ID}", session_id),
                "cancel_url": cancel_url,
                "expires_at": int(time.time()) + 24 * 3600,
            }

        return self._session(_idempotent(idempotency_key, "checkout_session", make))

    def checkout_retrieve(self, session_id: str) -> CheckoutSession:
        return self._session(_get("checkout_session", session_id))

    def checkout_details(self, session_id: str) -> dict[str, Any]:
        """Everything the local checkout page shows."""
        return dict(_get("checkout_session", session_id))

    def checkout_pay(self, session_id: str) -> tuple[str, dict[str, Any]]:
        """The local checkout page's "pay" button: returns (success_url, event)."""
        with transaction.atomic():
            session = _get("checkout_session", session_id)
            if self._session(session).status != "open":
                raise PaymentDeclined(
                    "This test checkout is no longer open.", code="session_closed"
                )
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=_new_id("pi"),
                charge=_new_id("ch"),
            )
            _save("checkout_session", session_id, session)
        event = self._event("checkout.session.completed", {"object": "checkout.session", **session})
        return session["success_url"], event

    def checkout_expire(self, session_id: str) -> CheckoutSession:
        session = _get("checkout_session", session_id)
        if session["status"] == "open":
            session["status"] = "expired"
            _save("checkout_session", session_id, session)
        return self._session(session)

    # --- Transfers -----------------------------------------------------------------------------
    @staticmethod
    def _transfer(data: dict[str, Any]) -> Transfer:
        return Transfer(
            id=data["id"],
            amount=data["amount"],
            currency=data["currency"],
            destination=data["destination"],
            transfer_group=data["transfer_group"],
            source_transaction=data["source_transaction"],
            metadata=data["metadata"],
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
        _fail_once_per_key(idempotency_key, _get("account", destination))
        data = _idempotent(
            idempotency_key,
            "transfer",
            lambda: {
                "id": _new_id("tr"),
                "amount": amount,
                "currency": currency.upper(),
                "destination": destination,
                "source_transaction": source_transaction,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
        )
        return self._transfer(data)

    def transfer_retrieve(self, transfer_id: str) -> Transfer:
        return self._transfer(_get("transfer", transfer_id))

    def transfers_list(self, *, transfer_group: str) -> list[Transfer]:
        rows = _model().objects.filter(kind="transfer", data__transfer_group=transfer_group)
        return [self._transfer(row.data) for row in rows]

    # --- Refunds -------------------------------------------------------------------------------
    @staticmethod
    def _refund(data: dict[str, Any]) -> RefundResult:
        return RefundResult(
            id=data["id"],
            amount=data["amount"],
            currency=data["currency"],
            status=data["status"],
            payment_intent_id=data["payment_intent"],
            metadata=data["metadata"],
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
        _fail_once_per_key(idempotency_key)
        data = _idempotent(
            idempotency_key,
            "refund",
            lambda: {
                "id": _new_id("re"),
                "amount": amount,
                "currency": currency.upper(),
                "status": "succeeded",
                "payment_intent": payment_intent_id,
                "metadata": metadata,
            },
        )
        return self._refund(data)

    def refund_retrieve(self, refund_id: str) -> RefundResult:
        return self._refund(_get("refund", refund_id))

    def refunds_list(self, *, payment_intent_id: str) -> list[RefundResult]:
        rows = _model().objects.filter(kind="refund", data__payment_intent=payment_intent_id)
        return [self._refund(row.data) for row in rows]

    def dispute_retrieve(self, dispute_id: str) -> Dispute:
        """Test mode has no card networks: no payment is ever disputed."""
        raise ProviderError(
            f"test mode: no dispute {dispute_id}", code="resource_missing", detail=dispute_id
        )

    def charge_fee(self, charge_id: str) -> ChargeFee | None:
        """Test mode charges no processing fee: the whole amount is net."""
        session = (
            _model().objects.filter(kind="checkout_session", data__charge=charge_id).first()
            if charge_id
            else None
        )
        if session is None:
            return None
        amount = session.data["amount_total"]
        return ChargeFee(
            balance_transaction_id=f"txn_test_{charge_id}",
            amount=amount,
            fee=0,
            net=amount,
            currency=session.data["currency"],
        )

    # --- Events --------------------------------------------------------------------------------
    @staticmethod
    def _event(event_type: str, obj: dict[str, Any], account: str = "") -> dict[str, Any]:
        return {
            "id": _new_id("evt"),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "account": account or None,
            "livemode": False,
            "data": {"object": obj},
        }

    def event_parse(self, *, payload: bytes, signature: str) -> ProviderEvent:
        # Test-mode events never come over HTTP: they are produced by the local pages.
        raise InvalidSignature("the test provider takes no webhooks")
