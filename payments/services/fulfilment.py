"""No lost checkout: fulfilment does not hang on one webhook arriving.

Two nets under the ``checkout.session.*`` events, both through ``funding_confirm`` (the events'
own service, so a payment is booked once whichever finds it first):

- before the funding deadline the beat sweep hands each funding still waiting for its payment
  to ``funding_check_sessions``, which retrieves its Checkout Sessions and fulfils a paid one;
- the nightly reconciliation looks at recent fundings that were never booked and raises an
  issue for any payment the provider captured (and books it: a cancelled assignment refunds it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from applications.models import Assignment
from marketplace.core.money import format_money

from ..models import Funding
from ..providers import get_provider
from ..providers.base import PaymentError
from .funding import funding_confirm
from .reconciliation import issue_raise

logger = logging.getLogger(__name__)
_WAITING = (Funding.Status.OPEN, Funding.Status.PROCESSING, Funding.Status.FAILED)


def _sessions(funding: Funding) -> list[str]:
    sessions = list(funding.checkout_sessions or [])
    if funding.checkout_session_id and funding.checkout_session_id not in sessions:
        sessions.append(funding.checkout_session_id)
    return sessions


def funding_check_sessions(*, funding_id: int) -> Funding | None:
    """Retrieve every Checkout Session of a funding still waiting and fulfil a paid one.

    ``funding_confirm`` re-fetches and books once; a session still open or processing changes
    nothing (or marks the funding processing). A provider error is left for the next sweep.
    """
    funding = Funding.objects.filter(pk=funding_id).first()
    if funding is None or funding.status not in _WAITING:
        return funding
    for session_id in _sessions(funding):
        try:
            funding_confirm(session_id=session_id)
        except PaymentError:
            logger.warning("Could not check checkout session %s", session_id, exc_info=True)
    return Funding.objects.get(pk=funding_id)


def fundings_due_for_check(*, now: datetime) -> list[int]:
    """Fundings waiting for their payment whose funding deadline is near (the sweep's step):
    checked every minute in the last ``FUNDING_CHECK_AHEAD_SECONDS`` before the deadline."""
    ahead = now + timedelta(seconds=settings.FUNDING_CHECK_AHEAD_SECONDS)
    return list(
        Funding.objects.filter(
            status__in=_WAITING,
            assignment__status=Assignment.Status.AWAITING_FUNDING,
            assignment__funding_due_at__gt=now,
            assignment__funding_due_at__lte=ahead,
        )
        .exclude(checkout_sessions=[], checkout_session_id=None)
        .order_by("assignment__funding_due_at")
        .values_list("pk", flat=True)[: settings.PAYMENTS_SWEEP_BATCH]
    )


def fundings_find_unbooked(*, since: datetime | None = None) -> int:
    """Reconciliation: a payment the provider captured that we never booked (every event lost,
    and past the deadline the sweep no longer looks). Raised for staff, then booked through
    ``funding_confirm``. Returns the number of new issues."""
    since = since or timezone.now() - timedelta(days=35)
    provider = get_provider()
    new = 0
    fundings = Funding.objects.filter(status__in=_WAITING, created_at__gte=since).select_related(
        "assignment"
    )
    for funding in fundings:
        for session_id in _sessions(funding):
            try:
                session = provider.checkout_retrieve(session_id)
            except PaymentError as exc:
                logger.warning("Could not check session %s: %s", session_id, exc.message)
                continue
            if session.payment_status != "paid":
                continue
            if issue_raise(
                key=f"session:{session_id}:unbooked",
                kind="captured_unbooked",
                description=f"Checkout session {session_id} of funding #{funding.pk} was paid "
                f"({format_money(session.amount_total, session.currency or funding.currency)}) "
                "but never booked: no event reached us. It is booked now "
                "(and refunded if the assignment was cancelled).",
                assignment=funding.assignment,
            ):
                new += 1
            funding_confirm(session_id=session_id)
    return new
