"""The stand-in's HTTP server: the routes, idempotent replays and the faults tests queue."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .controls import Controls
from .resources import Resources
from .state import (
    BALANCE_INSUFFICIENT,
    ERRORS,
    IDEMPOTENCY_TTL,
    Fault,
    Flaky,
    Request,
    State,
    new_id,
    not_found,
    parse_nested,
)


class StripeStandIn(Controls, Resources):
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
                self.send_header("Request-Id", new_id("req"))
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
                    return not_found("account", r.params.get("account"))
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
                    return not_found("checkout.session", match[1])
                if session["status"] != "open":
                    return 400, {"error": {"type": "invalid_request_error", "message": "not open"}}
                session["status"] = "expired"
                return 200, self._session_view(session, expand=[])
            if m == "GET" and (match := re.fullmatch(r"/v1/checkout/sessions/(\w+)", p)):
                session = self.state.sessions.get(match[1])
                if session is None:
                    return not_found("checkout.session", match[1])
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
