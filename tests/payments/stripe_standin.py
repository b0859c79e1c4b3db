"""A local HTTP stand-in of the Stripe API endpoints payments uses, for the real ``stripe`` library.

A threaded ``http.server`` on 127.0.0.1 with state for the whole flow: connected accounts,
account links, Checkout Sessions (with their payment intent and charge), transfers (listable by
transfer group), refunds. It behaves like Stripe where our code depends on it:

- an expired Checkout Session cannot be paid (``complete_checkout`` raises ``SessionClosed``),
  and only an open one can be expired (400 otherwise);
- a paid charge has a balance transaction with Stripe's fee (2.9% + 30), possibly later
  (``defer_balance_transactions``, then ``make_balance_transaction``), in another currency
  at an ``exchange_rate`` when the balance is (``settlement``);
- a charge can be disputed (``open_dispute``, ``update_dispute``, ``close_dispute``): funds and
  Stripe's dispute fee are withdrawn and, when won, reinstated, as balance transactions;
- transfers can be reversed in full or in part (``reverse_transfer`` or
  ``POST /v1/transfers/{id}/reversals``): ``amount_reversed`` grows, ``reversed`` once whole;
- refunds can be answered ``pending``/``requires_action`` (``answer_refunds``) and settled
  later, to ``succeeded`` or ``failed`` (``settle_refund``, which returns the event's object);

- form-encoded bodies with nested keys (``line_items[0][price_data][currency]``) are parsed back;
- the ``Idempotency-Key`` header replays the saved status and body of the first request with
  that key for 24 hours, errors and 500s included, as Stripe does once an endpoint has begun
  executing; only a rate limit (429) and a stand-in that is ``down`` (never reached) save nothing.
  The same key with other parameters is refused (``idempotency_error``). Keys older than 24 hours
  are forgotten (``time_machine`` moves that clock too; ``forget_idempotency_keys()`` at once);
- errors have Stripe's JSON shape and status codes; faults can be queued per path:
  ``fail(path, status=402|429|500|503, times=n, created=True)`` (``created``: the object is made
  and the answer is still the error), ``delay(path, seconds, times=n)``, or drawn at random for
  every new request: ``flaky(path, server_errors=0.2, balance_insufficient=0.1)``.

Every request is recorded (method, path, parsed params, headers) for assertions.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from marketplace.core.money import to_major, to_minor


def parse_nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][0][c]=v`` pairs -> nested dicts; dicts whose keys are all digits become lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node):
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return listify(root)


class SessionClosed(Exception):
    """The customer tried to pay a Checkout Session that is no longer open."""


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Fault:
    path: str
    status: int = 500
    times: int = 1
    delay: float = 0.0
    body: dict | None = None
    proceed: bool = False  # after the delay, answer normally (a slow, not a failed, request)
    created: bool = False  # the endpoint did its work, and the answer is still the error


@dataclass
class Flaky:
    """Random faults for every new request to ``path`` (a replayed key draws nothing)."""

    path: str
    server_errors: float
    balance_insufficient: float
    created: float  # the share of the 500s that come after the object was made
    rng: random.Random
    latency: float = 0.0  # seconds each request takes (a killed worker dies mid-call)


@dataclass
class State:
    accounts: dict[str, dict] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)
    intents: dict[str, dict] = field(default_factory=dict)
    transfers: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    charges: dict[str, dict] = field(default_factory=dict)
    disputes: dict[str, dict] = field(default_factory=dict)
    balance_transactions: dict[str, dict] = field(default_factory=dict)
    # key -> (status, body, params, saved at): Stripe's saved answer of an idempotency key.
    idempotency: dict[str, tuple[int, dict, dict, float]] = field(default_factory=dict)
    # The status each next refund is created with (Stripe answers ``pending`` for many payment
    # methods, ``requires_action`` when it needs the customer's details); then ``succeeded``.
    refund_answers: list[str] = field(default_factory=list)


IDEMPOTENCY_TTL = 24 * 3600
BALANCE_INSUFFICIENT = {
    "type": "invalid_request_error",
    "code": "balance_insufficient",
    "message": "You have insufficient available funds in your Stripe account.",
}


ERRORS = {
    402: {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    },
    429: {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."},
    500: {"type": "api_error", "message": "Something went wrong on Stripe's end."},
    503: {"type": "api_error", "message": "Service unavailable."},
}


class StripeStandIn:
    def __init__(self, secret_key: str = "sk_test_standin", platform_country: str = "US"):
        self.secret_key = secret_key
        self.platform_country = platform_country
        self.state = State()
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.flaky_paths: list[Flaky] = []
        # What the random faults did, for the tests' own tables: "500", "500 created", "balance".
        self.injected: dict[str, int] = {}
        self.lock = threading.RLock()
        self.down = False
        # Stripe fills in a charge's balance transaction a little after the payment at times.
        self.defer_balance_transactions = False
        # A platform whose balance is in another currency: charges are converted into it at
        # ``(currency, rate)`` (a Decimal: one major unit of the charge's currency in it).
        self.settlement: tuple[str, Decimal] | None = None
        handler = self._handler_class()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StripeStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

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
            intent_id = _id("pi")
            charge_id = _id("ch")
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
            charge_id = _id("ch")
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
                "id": _id("du"),
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
                "id": _id("txn"),
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
                "id": _id("txn"),
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
                refund["failure_balance_transaction"] = _id("txn")
            return dict(refund)

    def set_account(self, account_id: str, *, ready: bool) -> dict:
        with self.lock:
            account = self.state.accounts[account_id]
            account["capabilities"] = {"transfers": "active" if ready else "inactive"}
            account["payouts_enabled"] = ready
            account["details_submitted"] = ready
            return dict(account)

    # --- HTTP ----------------------------------------------------------------------------------
    def _handler_class(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _respond(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", _id("req"))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                pairs = parse_qsl(raw if method == "POST" else parts.query, keep_blank_values=True)
                params = parse_nested(pairs)
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(method, parts.path, params, headers)
                with standin.lock:
                    standin.requests.append(request)
                status, body = standin.dispatch(request)
                # The client may have given up (timeout).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._respond(status, body)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_DELETE(self):
                self._handle("DELETE")

        return Handler

    def dispatch(self, request: Request) -> tuple[int, dict]:
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
        if self.down:
            return 503, {"error": ERRORS[503]}  # never reached the API: nothing is saved
        key = request.idempotency_key if request.method == "POST" else None
        if key:
            saved = self._saved(key)
            if saved is not None:
                status, body, params, _at = saved
                if params != request.params:
                    return 400, {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the "
                            "same parameters they were first used with.",
                        }
                    }
                return status, body
        status, body = self._answer(request)
        if key and status != 429:
            with self.lock:
                first = self.state.idempotency.setdefault(
                    key, (status, body, request.params, time.time())
                )
                return first[0], first[1]
        return status, body

    def _saved(self, key: str) -> tuple[int, dict, dict, float] | None:
        with self.lock:
            saved = self.state.idempotency.get(key)
            if saved is not None and saved[3] < time.time() - IDEMPOTENCY_TTL:
                del self.state.idempotency[key]  # Stripe prunes keys after 24 hours
                return None
            return saved

    def _answer(self, request: Request) -> tuple[int, dict]:
        for flaky in self.flaky_paths:
            if request.method == "POST" and request.path == flaky.path and flaky.latency:
                time.sleep(flaky.latency)
        fault = self._take_fault(request.path, request.method)
        if fault is None:
            return self.route(request)
        if fault.proceed:
            time.sleep(fault.delay)
            return self.route(request)
        if fault.delay:
            time.sleep(fault.delay)
            return 500, {"error": ERRORS[500]}
        if fault.created:
            self.route(request)
        return fault.status, {"error": fault.body or ERRORS.get(fault.status, ERRORS[500])}

    def _take_fault(self, path: str, method: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path) and fault.times > 0:
                    fault.times -= 1
                    return fault
            for flaky in self.flaky_paths:
                if method == "POST" and path == flaky.path:
                    return self._draw(flaky)
        return None

    def _draw(self, flaky: Flaky) -> Fault | None:
        roll = flaky.rng.random()
        if roll < flaky.server_errors:
            created = flaky.rng.random() < flaky.created
            name = "500 created" if created else "500"
            self.injected[name] = self.injected.get(name, 0) + 1
            return Fault(path=flaky.path, status=500, created=created)
        if roll < flaky.server_errors + flaky.balance_insufficient:
            self.injected["balance"] = self.injected.get("balance", 0) + 1
            return Fault(path=flaky.path, status=400, body=BALANCE_INSUFFICIENT)
        return None

    def route(self, r: Request) -> tuple[int, dict]:
        p, m = r.path, r.method
        with self.lock:
            if m == "POST" and p == "/v1/accounts":
                return self._account_create(r.params)
            if m == "GET" and (match := re.fullmatch(r"/v1/accounts/([\w]+)", p)):
                return self._get(self.state.accounts, match[1], "account")
            if m == "POST" and p == "/v1/account_links":
                if r.params.get("account") not in self.state.accounts:
                    return _missing("account", r.params.get("account"))
                return 200, {
                    "object": "account_link",
                    "url": f"https://connect.stripe.test/setup/{secrets.token_hex(8)}",
                    "expires_at": int(time.time()) + 300,
                    "created": int(time.time()),
                }
            if m == "POST" and p == "/v1/checkout/sessions":
                return self._session_create(r.params)
            if m == "POST" and (match := re.fullmatch(r"/v1/checkout/sessions/(\w+)/expire", p)):
                session = self.state.sessions.get(match[1])
                if session is None:
                    return _missing("checkout.session", match[1])
                if session["status"] != "open":
                    return 400, {"error": {"type": "invalid_request_error", "message": "not open"}}
                session["status"] = "expired"
                return 200, self._session_view(session, expand=[])
            if m == "GET" and (match := re.fullmatch(r"/v1/checkout/sessions/(\w+)", p)):
                session = self.state.sessions.get(match[1])
                if session is None:
                    return _missing("checkout.session", match[1])
                return 200, self._session_view(session, expand=r.params.get("expand") or [])
            if m == "POST" and p == "/v1/transfers":
                return self._transfer_create(r.params)
            if m == "GET" and p == "/v1/transfers":
                group = r.params.get("transfer_group")
                data = [t for t in self.state.transfers.values() if t["transfer_group"] == group]
                data.sort(key=lambda t: t["created"], reverse=True)
                return 200, {
                    "object": "list",
                    "url": "/v1/transfers",
                    "has_more": False,
                    "data": data,
                }
            if m == "POST" and (match := re.fullmatch(r"/v1/transfers/(\w+)/reversals", p)):
                return self._reversal_create(match[1], r.params)
            if m == "GET" and (match := re.fullmatch(r"/v1/transfers/(\w+)", p)):
                return self._get(self.state.transfers, match[1], "transfer")
            if m == "GET" and (match := re.fullmatch(r"/v1/disputes/(\w+)", p)):
                return self._get(self.state.disputes, match[1], "dispute")
            if m == "GET" and (match := re.fullmatch(r"/v1/charges/(\w+)", p)):
                return self._charge_view(match[1], r.params.get("expand") or [])
            if m == "GET" and (match := re.fullmatch(r"/v1/balance_transactions/(\w+)", p)):
                return self._get(self.state.balance_transactions, match[1], "balance_transaction")
            if m == "POST" and p == "/v1/refunds":
                return self._refund_create(r.params)
            if m == "GET" and p == "/v1/refunds":
                return self._refunds_list(r.params)
            if m == "GET" and (match := re.fullmatch(r"/v1/refunds/(\w+)", p)):
                return self._get(self.state.refunds, match[1], "refund")
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {m} {p}"}}

    @staticmethod
    def _get(table: dict, object_id: str, kind: str) -> tuple[int, dict]:
        if object_id not in table:
            return _missing(kind, object_id)
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
        account_id = _id("acct")
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
        session_id = _id("cs")
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
            return _missing("charge", charge_id)
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
            return _missing("account", destination)
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
            return _missing("charge", source)
        transfer_id = _id("tr")
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
            return _missing("transfer", transfer_id)
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
            "id": _id("trr"),
            "object": "transfer_reversal",
            "amount": amount,
            "currency": transfer["currency"],
            "transfer": transfer_id,
            "balance_transaction": _id("txn"),
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
            return _missing("payment_intent", params.get("payment_intent"))
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
        refund_id = _id("re")
        status = self.state.refund_answers.pop(0) if self.state.refund_answers else "succeeded"
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent.get("latest_charge"),
            "balance_transaction": _id("txn"),
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


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def _missing(kind: str, object_id) -> tuple[int, dict]:
    return 404, {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such {kind}: '{object_id}'",
        }
    }


# --- Webhook events, signed like Stripe signs them --------------------------------------------


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload``: ``t=<ts>,v1=<hmac-sha256>``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(
    event_type: str, obj: dict, *, account: str | None = None, event_id: str | None = None
) -> bytes:
    return json.dumps(
        {
            "id": event_id or _id("evt"),
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "type": event_type,
            "account": account,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj},
        }
    ).encode()
