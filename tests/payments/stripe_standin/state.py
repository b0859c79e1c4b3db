"""The stand-in's state and the shapes of what it records: requests, queued faults, random
faults; Stripe's error bodies; parsing of form-encoded nested parameters."""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any


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


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def not_found(kind: str, object_id) -> tuple[int, dict]:
    return 404, {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such {kind}: '{object_id}'",
        }
    }
