"""Provider events: stored once, then handled by re-fetching the object they name."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.core.errors import DomainError

from ..models import (
    WebhookEvent,
)
from ..providers.base import PaymentError, ProviderEvent, ProviderUnavailable
from .chargebacks import chargeback_sync
from .fees import charge_sync
from .funding import funding_confirm, funding_payment_failed, funding_session_expired
from .payout_accounts import payout_account_sync
from .payouts import payout_transfer_sync
from .reconciliation import issue_raise
from .refunds import refund_sync

logger = logging.getLogger(__name__)


def webhook_event_record(*, provider_name: str, event: ProviderEvent) -> tuple[WebhookEvent, bool]:
    """Store an event once (unique id) and hand it to a task after commit.

    A duplicate delivery returns the stored row and ``False``: nothing else happens.
    """
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                provider=provider_name,
                event_id=event.id,
                type=event.type,
                account=event.account,
                object_id=event.object_id,
                payload=event.payload,
            )
    except IntegrityError:
        return WebhookEvent.objects.get(event_id=event.id), False
    from ..tasks import handle_webhook_event

    handle_webhook_event.delay_on_commit(row.pk)
    return row, True


HANDLERS = {
    "checkout.session.completed": lambda oid: funding_confirm(session_id=oid) and "funding checked",
    "checkout.session.async_payment_succeeded": lambda oid: (
        funding_confirm(session_id=oid) and "funding checked"
    ),
    "checkout.session.async_payment_failed": lambda oid: (
        funding_payment_failed(session_id=oid) and "funding failed"
    ),
    "checkout.session.expired": lambda oid: (
        funding_session_expired(session_id=oid) and "session expired"
    ),
    # Chargebacks: every step re-fetches the dispute and runs the same sync.
    "charge.dispute.created": lambda oid: chargeback_sync(dispute_id=oid),
    "charge.dispute.updated": lambda oid: chargeback_sync(dispute_id=oid),
    "charge.dispute.closed": lambda oid: chargeback_sync(dispute_id=oid),
    "charge.dispute.funds_withdrawn": lambda oid: chargeback_sync(dispute_id=oid),
    "charge.dispute.funds_reinstated": lambda oid: chargeback_sync(dispute_id=oid),
    # The charge's balance transaction (Stripe's fee) may come after the payment.
    "charge.updated": lambda oid: charge_sync(charge_id=oid),
    "account.updated": lambda oid: payout_account_sync(account_id=oid) and "account synced",
    "transfer.created": lambda oid: payout_transfer_sync(transfer_id=oid),
    "transfer.updated": lambda oid: payout_transfer_sync(transfer_id=oid),
    "transfer.reversed": lambda oid: payout_transfer_sync(transfer_id=oid),
    "refund.created": lambda oid: refund_sync(refund_object_id=oid),
    "refund.updated": lambda oid: refund_sync(refund_object_id=oid),
    "refund.failed": lambda oid: refund_sync(refund_object_id=oid),
    # The older name of ``refund.updated`` (accounts on earlier API versions send it).
    "charge.refund.updated": lambda oid: refund_sync(refund_object_id=oid),
}


def webhook_event_process(*, event_pk: int) -> WebhookEvent:
    """Act on a stored event: re-fetch its object from the provider, then the service acts.

    Every handler is idempotent and reads the provider's current state, so duplicates, stale
    payloads and any order of events are harmless. A transient provider error leaves the event
    ``received``: the sweep hands it over again, up to ``WEBHOOK_MAX_ATTEMPTS`` times (a worker
    that dies while handling it counts too); then it fails and staff are told.
    """
    row = WebhookEvent.objects.get(pk=event_pk)
    if row.status != WebhookEvent.Status.RECEIVED:
        return row
    if row.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        return _webhook_event_give_up(row, note=row.note or "the handler never finished")
    WebhookEvent.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    handler = HANDLERS.get(row.type)
    if handler is None:
        status, note = WebhookEvent.Status.IGNORED, "not a type we act on"
    else:
        try:
            note = handler(row.object_id) or "nothing to do"
            status = WebhookEvent.Status.PROCESSED
        except ProviderUnavailable as exc:
            note = f"will retry: {exc.detail}"[:2000]
            if row.attempts + 1 >= settings.WEBHOOK_MAX_ATTEMPTS:
                return _webhook_event_give_up(row, note=note)
            WebhookEvent.objects.filter(pk=row.pk).update(note=note)
            return WebhookEvent.objects.get(pk=row.pk)
        except (PaymentError, DomainError) as exc:
            logger.exception("Webhook event %s failed", row.event_id)
            status, note = WebhookEvent.Status.FAILED, str(exc)
    WebhookEvent.objects.filter(pk=row.pk, status=WebhookEvent.Status.RECEIVED).update(
        status=status, note=str(note)[:2000], processed_at=timezone.now()
    )
    return WebhookEvent.objects.get(pk=row.pk)


def _webhook_event_give_up(row: WebhookEvent, *, note: str) -> WebhookEvent:
    """Stop handing the event over and raise it for staff (once)."""
    with transaction.atomic():
        updated = WebhookEvent.objects.filter(
            pk=row.pk, status=WebhookEvent.Status.RECEIVED
        ).update(
            status=WebhookEvent.Status.FAILED,
            note=f"gave up after {settings.WEBHOOK_MAX_ATTEMPTS} attempts: {note}"[:2000],
            processed_at=timezone.now(),
        )
        if updated:
            issue_raise(
                key=f"webhook:{row.event_id}:gave-up",
                kind="webhook_failed",
                description=f"Event {row.event_id} ({row.type} for {row.object_id or 'nothing'}) "
                f"could not be handled after {settings.WEBHOOK_MAX_ATTEMPTS} attempts and is no "
                f"longer retried: {note}",
            )
    return WebhookEvent.objects.get(pk=row.pk)
