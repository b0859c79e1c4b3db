"""Webhook events, signed like Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from .state import new_id

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
            "id": event_id or new_id("evt"),
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
