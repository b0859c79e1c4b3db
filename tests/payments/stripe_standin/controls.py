"""What tests do to the stand-in besides calling its API: queue faults, pay or expire a Checkout
Session, open and close disputes, settle refunds, make an account ready."""

from __future__ import annotations

import json
import random
import time

from marketplace.core.money import to_major, to_minor

from .state import Fault, Flaky, Request, SessionClosed, new_id


class Controls:
    # --- test controls -------------------------------------------------------------------------
    def fail(
        self,
        path: str,
        *,
        status: int,
        times: int = 1,
        body: dict | None = None,
        created: bool = False,
    ) -> None:
        with self.lock:
            self.faults.append(
                Fault(path=path, status=status, times=times, body=body, created=created)
            )

    def flaky(
        self,
        path: str,
        *,
        server_errors: float = 0.0,
        balance_insufficient: float = 0.0,
        created: float = 0.5,
        seed: int = 0,
        latency: float = 0.0,
    ) -> None:
        with self.lock:
            self.flaky_paths.append(
                Flaky(
                    path,
                    server_errors,
                    balance_insufficient,
                    created,
                    random.Random(seed),
                    latency,
                )
            )

    def delay(self, path: str, *, seconds: float, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(path=path, delay=seconds, times=times, status=500))

    def slow(self, path: str, *, seconds: float, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(path=path, delay=seconds, times=times, proceed=True))

    def forget_idempotency_keys(self) -> None:
        with self.lock:
            self.state.idempotency.clear()

    def calls(self, method: str, path_prefix: str) -> list[Request]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    def complete_checkout(self, session_id: str, *, paid: bool = True, amount: int | None = None):
        """What the customer paying on Stripe's page does to the session."""
        with self.lock:
            session = self.state.sessions[session_id]
            if session["status"] != "open":
                # Stripe shows an expired (or finished) session's page without a pay button.
                raise SessionClosed(f"{session_id} is {session['status']}: it cannot be paid")
            intent_id = new_id("pi")
            charge_id = new_id("ch")
            intent = self.state.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount if amount is not None else session["amount_total"],
                "currency": session["currency"],
                "latest_charge": charge_id if paid else None,
                "status": "succeeded" if paid else "processing",
                "transfer_group": session["payment_intent_data"].get("transfer_group"),
                "metadata": session["payment_intent_data"].get("metadata", {}),
            }
            if paid:
                self._charge_make(charge_id, intent)
            session.update(
                status="complete",
                payment_status="paid" if paid else "unpaid",
                payment_intent=intent_id,
            )
            if amount is not None:
                session["amount_total"] = amount
            return dict(session)

    def settle_async_payment(self, session_id: str) -> None:
        with self.lock:
            session = self.state.sessions[session_id]
            intent = self.state.intents[session["payment_intent"]]
            charge_id = new_id("ch")
            intent.update(status="succeeded", latest_charge=charge_id)
            self._charge_make(charge_id, intent)
            session["payment_status"] = "paid"

    # Stripe's standard card pricing (2.9% + 30 minor units), rounded half up.
    @staticmethod
    def processing_fee(amount: int) -> int:
        return (amount * 29 + 500) // 1000 + 30

    def _charge_make(self, charge_id: str, intent: dict) -> dict:
        """A succeeded charge and, unless deferred, its balance transaction with Stripe's fee."""
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "paid": True,
            "balance_transaction": None,
            "transfer_group": intent.get("transfer_group"),
            "metadata": intent.get("metadata", {}),
        }
        self.state.charges[charge_id] = charge
        if not self.defer_balance_transactions:
            self.make_balance_transaction(charge_id)
        return charge

    DISPUTE_FEE = 1500  # Stripe's dispute fee in the US, in cents

    def open_dispute(
        self, charge_id: str, *, amount: int | None = None, inquiry: bool = False
    ) -> dict:
        """The cardholder's bank disputes a charge. A chargeback takes the amount and the
        dispute fee from the balance at once (one balance transaction); an inquiry
        (``warning_needs_response``) takes nothing until it becomes a chargeback."""
        with self.lock:
            charge = self.state.charges[charge_id]
            dispute = {
                "id": new_id("du"),
                "object": "dispute",
                "amount": charge["amount"] if amount is None else amount,
                "currency": charge["currency"],
                "charge": charge_id,
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": "warning_needs_response" if inquiry else "needs_response",
                "balance_transactions": [],
                "evidence_details": {
                    "due_by": int(time.time()) + 7 * 24 * 3600,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "created": int(time.time()),
                "metadata": {},
            }
            if not inquiry:
                self._dispute_move(dispute, -dispute["amount"], self.DISPUTE_FEE)
            charge["disputed"] = True
            self.state.disputes[dispute["id"]] = dispute
            return json.loads(json.dumps(dispute))

    def _dispute_move(self, dispute: dict, amount: int, fee: int) -> None:
        dispute["balance_transactions"].append(
            {
                "id": new_id("txn"),
                "object": "balance_transaction",
                "amount": amount,
                "fee": fee,
                "net": amount - fee,
                "currency": dispute["currency"],
                "type": "adjustment",
                "reporting_category": "dispute" if amount < 0 else "dispute_reversal",
            }
        )

    def update_dispute(self, dispute_id: str, status: str) -> dict:
        """Evidence submitted (``under_review``), or an inquiry escalated (``needs_response``,
        which withdraws the funds then)."""
        with self.lock:
            dispute = self.state.disputes[dispute_id]
            if status == "needs_response" and not dispute["balance_transactions"]:
                self._dispute_move(dispute, -dispute["amount"], self.DISPUTE_FEE)
            dispute["status"] = status
            return json.loads(json.dumps(dispute))

    def close_dispute(self, dispute_id: str, *, won: bool, fee_returned: bool = True) -> dict:
        """The bank decides. Won: the amount is reinstated (and the fee, where Stripe returns
        it); lost: nothing comes back."""
        with self.lock:
            dispute = self.state.disputes[dispute_id]
            if won and dispute["balance_transactions"]:
                fee = -self.DISPUTE_FEE if fee_returned else 0
                self._dispute_move(dispute, dispute["amount"], fee)
            if dispute["status"].startswith("warning_"):
                dispute["status"] = "warning_closed" if won else "lost"
            else:
                dispute["status"] = "won" if won else "lost"
            return json.loads(json.dumps(dispute))

    def make_balance_transaction(self, charge_id: str) -> dict:
        """Stripe fills in the charge's balance transaction (returns the charge, the object of
        ``charge.updated``)."""
        with self.lock:
            charge = self.state.charges[charge_id]
            amount, currency, rate = charge["amount"], charge["currency"], None
            if self.settlement and self.settlement[0] != currency:
                # Stripe converts the charge into the balance's currency and takes its fee
                # there: ``amount`` in the charge's currency times ``exchange_rate``.
                currency, rate = self.settlement
                major = to_major(charge["amount"], charge["currency"]) * rate
                amount = to_minor(major, currency)
            fee = self.processing_fee(amount)
            txn = {
                "id": new_id("txn"),
                "object": "balance_transaction",
                "amount": amount,
                "currency": currency,
                "exchange_rate": float(rate) if rate is not None else None,
                "fee": fee,
                "net": amount - fee,
                "fee_details": [{"amount": fee, "currency": currency, "type": "stripe_fee"}],
                "source": charge_id,
                "type": "charge",
                "status": "pending",
            }
            self.state.balance_transactions[txn["id"]] = txn
            charge["balance_transaction"] = txn["id"]
            return dict(charge)

    def answer_refunds(self, status: str, *, times: int = 1) -> None:
        """The next ``times`` refunds are created ``pending``/``requires_action``/``failed``."""
        with self.lock:
            self.state.refund_answers.extend([status] * times)

    def settle_refund(self, refund_id: str, status: str, *, failure_reason: str = "") -> dict:
        """What the bank's answer does to a refund (the object of ``refund.updated``/``.failed``).

        A failed refund names why (``failure_reason``) and gets a balance transaction giving
        the money back to the platform; it can fail even after it had succeeded.
        """
        with self.lock:
            refund = self.state.refunds[refund_id]
            refund.update(status=status, next_action=None)
            if status == "failed":
                refund["failure_reason"] = failure_reason or "expired_or_canceled_card"
                refund["failure_balance_transaction"] = new_id("txn")
            return dict(refund)

    def set_account(self, account_id: str, *, ready: bool) -> dict:
        with self.lock:
            account = self.state.accounts[account_id]
            account["capabilities"] = {"transfers": "active" if ready else "inactive"}
            account["payouts_enabled"] = ready
            account["details_submitted"] = ready
            return dict(account)
