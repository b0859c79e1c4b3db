"""Every write of the payments app, one module per feature; the public names are re-exported
here so callers write ``from payments import services`` and ``services.payout_release(...)``.

- ``attempts``: what payouts and refunds share (the three-step provider call, retries, errors)
- ``ledger``: the balanced double-entry ledger
- ``payout_accounts``: the student's connected account
- ``funding``: the employer's Checkout payment
- ``fulfilment``: paid sessions found without their webhook (sweep and reconciliation)
- ``payouts``: transfers to students
- ``refunds``: money back to the employer (cancellations, settled disputes, late payments)
- ``webhooks``: provider events, stored once and handled by re-fetching
- ``sweeps``: the beat sweep that picks up whatever is due
- ``reconciliation``: issues for staff and the nightly check against the provider
"""

from .attempts import IDEMPOTENCY_WINDOW, PaymentRefused, claim_window
from .chargebacks import chargeback_release_payouts, chargeback_sync
from .fees import charge_sync, funding_fee_record
from .fulfilment import funding_check_sessions, fundings_find_unbooked
from .funding import (
    funding_confirm,
    funding_expire_other_sessions,
    funding_payment_failed,
    funding_session_expired,
    funding_start,
)
from .ledger import assignment_refundable, ledger_post
from .payout_accounts import payout_account_onboarding_url, payout_account_sync
from .payouts import (
    milestone_release,
    payout_create,
    payout_record_transfer,
    payout_release,
    payout_retry,
    payout_transfer_sync,
)
from .reconciliation import (
    issue_raise,
    issue_resolve,
    ledger_reconcile,
    ledger_reconcile_fundings,
    ledger_reconcile_internal,
    ledger_reconcile_others,
    reconcile_funding_ids,
)
from .refunds import (
    assignment_refund_unreleased,
    dispute_settle,
    refund_execute,
    refund_record,
    refund_retry,
    refund_sync,
)
from .sweeps import SweepResult, payments_sweep
from .webhooks import HANDLERS, webhook_event_process, webhook_event_record

__all__ = [
    "HANDLERS",
    "IDEMPOTENCY_WINDOW",
    "PaymentRefused",
    "SweepResult",
    "assignment_refund_unreleased",
    "assignment_refundable",
    "claim_window",
    "dispute_settle",
    "funding_check_sessions",
    "charge_sync",
    "chargeback_release_payouts",
    "chargeback_sync",
    "funding_confirm",
    "funding_fee_record",
    "funding_expire_other_sessions",
    "funding_payment_failed",
    "funding_session_expired",
    "funding_start",
    "fundings_find_unbooked",
    "issue_raise",
    "issue_resolve",
    "ledger_post",
    "ledger_reconcile",
    "ledger_reconcile_fundings",
    "ledger_reconcile_internal",
    "ledger_reconcile_others",
    "milestone_release",
    "payments_sweep",
    "payout_account_onboarding_url",
    "payout_account_sync",
    "payout_create",
    "payout_record_transfer",
    "payout_release",
    "payout_retry",
    "payout_transfer_sync",
    "reconcile_funding_ids",
    "refund_execute",
    "refund_record",
    "refund_retry",
    "refund_sync",
    "webhook_event_process",
    "webhook_event_record",
]
