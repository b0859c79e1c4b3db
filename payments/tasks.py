"""Celery adapters: ids in, one service call. Money tasks are ``acks_late`` (safe: every
service here is idempotent); transient provider errors are retried by the services through
``next_attempt_at`` and the beat sweep, never by long countdowns."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="payments.release_payout", acks_late=True)
def release_payout(payout_id: int) -> str:
    return services.payout_release(payout_id=payout_id).status


@shared_task(name="payments.execute_refund", acks_late=True)
def execute_refund(refund_id: int) -> str:
    return services.refund_execute(refund_id=refund_id).status


@shared_task(name="payments.handle_webhook_event", acks_late=True)
def handle_webhook_event(event_pk: int) -> str:
    return services.webhook_event_process(event_pk=event_pk).status


@shared_task(name="payments.milestone_approved", acks_late=True)
def milestone_approved(milestone_id: int) -> None:
    services.milestone_release(milestone_id=milestone_id)


@shared_task(name="payments.assignment_cancelled", acks_late=True)
def assignment_cancelled(assignment_id: int) -> None:
    from applications.models import Assignment

    assignment = Assignment.objects.filter(pk=assignment_id).first()
    if assignment is not None:
        services.assignment_refund_unreleased(assignment=assignment)


@shared_task(name="payments.dispute_resolved", acks_late=True)
def dispute_resolved(dispute_id: int) -> None:
    from applications.models import Dispute

    dispute = Dispute.objects.filter(pk=dispute_id).first()
    if dispute is not None:
        services.dispute_settle(dispute=dispute)


@shared_task(name="payments.expire_other_sessions", acks_late=True)
def expire_other_sessions(funding_id: int) -> list[str]:
    return services.funding_expire_other_sessions(funding_id=funding_id)


@shared_task(name="payments.check_funding_sessions", acks_late=True)
def check_funding_sessions(funding_id: int) -> str:
    funding = services.funding_check_sessions(funding_id=funding_id)
    return funding.status if funding else "missing"


@shared_task(name="payments.record_stripe_fee", acks_late=True)
def record_stripe_fee(funding_id: int) -> int | None:
    funding = services.funding_fee_record(funding_id=funding_id)
    return funding.stripe_fee if funding else None


@shared_task(name="payments.sweep")
def sweep() -> dict:
    return vars(services.payments_sweep())


@shared_task(name="payments.reconcile")
def reconcile() -> int:
    """The nightly reconciliation, in chunks: the ledger's own check here, then one
    ``reconcile_chunk`` per RECONCILE_CHUNK_SIZE fundings, each within its own time limit."""
    new = services.ledger_reconcile_internal()
    ids = services.reconcile_funding_ids()
    size = settings.RECONCILE_CHUNK_SIZE
    for start in range(0, len(ids), size):
        reconcile_chunk.delay(ids[start : start + size])
    reconcile_unbooked.delay()
    return new


@shared_task(name="payments.reconcile_chunk")
def reconcile_chunk(funding_ids: list[int]) -> int:
    return services.ledger_reconcile_fundings(funding_ids=funding_ids)


@shared_task(name="payments.reconcile_unbooked")
def reconcile_unbooked() -> int:
    """Payments captured but never booked, and the chargebacks (the nightly run's last part)."""
    return services.ledger_reconcile_others()
