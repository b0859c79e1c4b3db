"""The Stripe objects the stand-in makes and answers with: accounts, Checkout Sessions,
charges, transfers and their reversals, refunds."""

from __future__ import annotations

import json
import time

from .state import new_id, not_found


class Resources:
    @staticmethod
    def _get(table: dict, object_id: str, kind: str) -> tuple[int, dict]:
        if object_id not in table:
            return not_found(kind, object_id)
        return 200, dict(table[object_id])

    def _account_create(self, params: dict) -> tuple[int, dict]:
        country = params.get("country", self.platform_country)
        agreement = (params.get("tos_acceptance") or {}).get("service_agreement", "full")
        if country != self.platform_country and agreement != "recipient":
            # Stripe: an account outside the platform's country takes transfers only under the
            # recipient service agreement.
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "invalid_cross_border_account",
                    "param": "tos_acceptance[service_agreement]",
                    "message": f"A {country} account of a {self.platform_country} platform "
                    "needs the recipient service agreement.",
                }
            }
        account_id = new_id("acct")
        account = {
            "id": account_id,
            "object": "account",
            "type": params.get("type"),
            "email": params.get("email"),
            "country": params.get("country", "US"),
            "tos_acceptance": params.get("tos_acceptance", {}),
            "capabilities": {"transfers": "inactive"},
            "payouts_enabled": False,
            "details_submitted": False,
            "charges_enabled": False,
            "metadata": params.get("metadata", {}),
            "requested_capabilities": params.get("capabilities", {}),
        }
        self.state.accounts[account_id] = account
        return 200, dict(account)

    def _session_create(self, params: dict) -> tuple[int, dict]:
        items = params.get("line_items") or []
        currency = None
        total = 0
        for item in items:
            price = item.get("price_data", {})
            if currency and price.get("currency") != currency:
                return 400, {
                    "error": {"type": "invalid_request_error", "message": "mixed currencies"}
                }
            currency = price.get("currency")
            total += int(price.get("unit_amount", 0)) * int(item.get("quantity", 1))
        session_id = new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "currency": currency,
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "success_url": params.get("success_url", "").replace(
                "{CHECKOUT_SESSION_ID}", session_id
            ),
            "cancel_url": params.get("cancel_url"),
            "metadata": params.get("metadata", {}),
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "payment_intent": None,
            "payment_intent_data": params.get("payment_intent_data", {}),
            "line_items_params": items,
            "expires_at": int(time.time()) + 24 * 3600,
        }
        self.state.sessions[session_id] = session
        return 200, self._session_view(session, expand=[])

    def _session_view(self, session: dict, *, expand: list) -> dict:
        view = {
            k: v
            for k, v in session.items()
            if k not in ("payment_intent_data", "line_items_params")
        }
        if "payment_intent" in expand and session["payment_intent"]:
            view["payment_intent"] = dict(self.state.intents[session["payment_intent"]])
        return view

    def _charge_view(self, charge_id: str, expand: list) -> tuple[int, dict]:
        charge = self.state.charges.get(charge_id)
        if charge is None:
            return not_found("charge", charge_id)
        view = dict(charge)
        if "balance_transaction" in expand and charge["balance_transaction"]:
            view["balance_transaction"] = dict(
                self.state.balance_transactions[charge["balance_transaction"]]
            )
        return 200, view

    def _charge_exists(self, charge_id: str) -> bool:
        return any(i.get("latest_charge") == charge_id for i in self.state.intents.values())

    def _transfer_create(self, params: dict) -> tuple[int, dict]:
        destination = params.get("destination")
        account = self.state.accounts.get(destination)
        if account is None:
            return not_found("account", destination)
        if account["capabilities"].get("transfers") != "active":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "insufficient_capabilities_for_transfer",
                    "message": "The destination account needs the transfers capability.",
                }
            }
        source = params.get("source_transaction")
        if source and not self._charge_exists(source):
            return not_found("charge", source)
        transfer_id = new_id("tr")
        transfer = {
            "id": transfer_id,
            "object": "transfer",
            "amount": int(params["amount"]),
            "currency": params.get("currency"),
            "destination": destination,
            "source_transaction": source,
            "transfer_group": params.get("transfer_group"),
            "metadata": params.get("metadata", {}),
            "reversed": False,
            "amount_reversed": 0,
            "reversals": {"object": "list", "data": [], "has_more": False},
            "created": time.time(),
        }
        self.state.transfers[transfer_id] = transfer
        return 200, dict(transfer)

    def _reversal_create(self, transfer_id: str, params: dict) -> tuple[int, dict]:
        """Take back all or part of a transfer: ``amount_reversed`` grows, ``reversed`` is set
        once the whole amount is back; more than what is left is refused."""
        transfer = self.state.transfers.get(transfer_id)
        if transfer is None:
            return not_found("transfer", transfer_id)
        left = transfer["amount"] - transfer["amount_reversed"]
        amount = int(params.get("amount") or left)
        if amount <= 0 or amount > left:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "transfer_reversal_amount_too_large" if amount > left else None,
                    "message": f"You cannot reverse {amount}; {left} is left on the transfer.",
                }
            }
        reversal = {
            "id": new_id("trr"),
            "object": "transfer_reversal",
            "amount": amount,
            "currency": transfer["currency"],
            "transfer": transfer_id,
            "balance_transaction": new_id("txn"),
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, reversal)
        return 200, dict(reversal)

    def reverse_transfer(self, transfer_id: str, amount: int | None = None) -> dict:
        """Staff reverse a transfer in the dashboard; returns the transfer (the event's object)."""
        with self.lock:
            status, body = self._reversal_create(
                transfer_id, {} if amount is None else {"amount": amount}
            )
            if status != 200:
                raise ValueError(body["error"]["message"])
            return json.loads(json.dumps(self.state.transfers[transfer_id]))

    def _refunds_list(self, params: dict) -> tuple[int, dict]:
        """``GET /v1/refunds``, newest first, narrowed by ``payment_intent`` or ``charge``."""
        data = [
            dict(r)
            for r in reversed(self.state.refunds.values())  # made in this order
            if all(r[k] == params[k] for k in ("payment_intent", "charge") if k in params)
        ]
        return 200, {"object": "list", "url": "/v1/refunds", "has_more": False, "data": data}

    def _refund_create(self, params: dict) -> tuple[int, dict]:
        intent = self.state.intents.get(params.get("payment_intent"))
        if intent is None:
            return not_found("payment_intent", params.get("payment_intent"))
        amount = int(params.get("amount") or intent["amount"])
        # Failed and canceled refunds give the amount back: it can be refunded again.
        refunded = sum(
            r["amount"]
            for r in self.state.refunds.values()
            if r["payment_intent"] == intent["id"] and r["status"] not in ("failed", "canceled")
        )
        if refunded + amount > intent["amount"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded",
                    "message": "Refund amount is greater than unrefunded amount on charge.",
                }
            }
        refund_id = new_id("re")
        status = self.state.refund_answers.pop(0) if self.state.refund_answers else "succeeded"
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent.get("latest_charge"),
            "balance_transaction": new_id("txn"),
            "created": int(time.time()),
            "status": status,
            "failure_reason": "unknown" if status == "failed" else None,
            "next_action": (
                {"type": "display_details", "display_details": {"email_sent": {}}}
                if status == "requires_action"
                else None
            ),
            "metadata": params.get("metadata", {}),
        }
        self.state.refunds[refund_id] = refund
        return 200, dict(refund)
