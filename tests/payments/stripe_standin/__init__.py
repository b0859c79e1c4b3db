"""A local HTTP stand-in of the Stripe API endpoints payments uses, for the real ``stripe`` library.

In parts: ``server`` (HTTP, routes, idempotent replays, queued faults), ``resources`` (the objects
it makes), ``controls`` (what tests do to it besides calling the API), ``state`` and ``events``
(signed webhook events).

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

from .events import event, sign
from .server import StripeStandIn
from .state import BALANCE_INSUFFICIENT, SessionClosed

__all__ = ["BALANCE_INSUFFICIENT", "SessionClosed", "StripeStandIn", "event", "sign"]
