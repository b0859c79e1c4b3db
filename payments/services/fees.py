"""Stripe's processing fees in the books.

Each paid funding's charge has a balance transaction saying what Stripe kept (``fee``). It is
booked once, from the platform fee to its own account (``stripe_fees``), so the platform fee
account is net revenue and the ledger matches what reached the Stripe balance. Stripe keeps its
fee when a payment is refunded, so the booking is never undone.

When the platform's balance is in another currency than the payment, Stripe converts the
charge: its balance transaction's ``amount`` (and ``fee``) are in the balance's currency, at
``exchange_rate``. The fee is booked in the payment's (the ledger's) currency at the rate of
those two amounts of the same money (the charge in each currency), as Stripe converted it.

The balance transaction can come after the payment (Stripe fills it in and sends
``charge.updated``); until it is read the funding's ``stripe_fee`` is null and the sweep asks
again.
"""

from __future__ import annotations

import logging

from django.db import transaction

from marketplace.core.audit import audit
from marketplace.core.money import format_money, pro_rata

from ..models import Funding
from ..providers import get_provider
from ..providers.base import ChargeFee, PaymentError
from .attempts import Account
from .ledger import ledger_post
from .reconciliation import issue_raise

logger = logging.getLogger(__name__)


def funding_fee_record(*, funding_id: int) -> Funding | None:
    """Read the charge's balance transaction and book Stripe's fee (once)."""
    funding = Funding.objects.filter(pk=funding_id, status=Funding.Status.PAID).first()
    if funding is None or not funding.charge_id or funding.stripe_fee is not None:
        return funding
    try:
        fee = get_provider().charge_fee(funding.charge_id)
    except PaymentError as exc:
        # Not urgent: the sweep asks again while the fee is unread.
        logger.warning("Could not read the fee of funding #%s: %s", funding.pk, exc.detail)
        return funding
    if fee is None:
        return funding
    with transaction.atomic():
        funding = (
            Funding.objects.select_for_update().select_related("assignment").get(pk=funding.pk)
        )
        if funding.stripe_fee is not None:
            return funding
        booked = fee_in_payment_currency(funding, fee)
        funding.balance_transaction_id = fee.balance_transaction_id
        if booked is None:
            # Nothing to convert at (a balance transaction of no amount): staff book it.
            funding.save(update_fields=["balance_transaction_id", "updated_at"])
            issue_raise(
                key=f"funding:{funding.pk}:fee-currency",
                kind="fee_currency",
                description=f"Stripe's fee on funding #{funding.pk} is "
                f"{format_money(fee.fee, fee.currency)} on a balance transaction of "
                f"{format_money(fee.amount, fee.currency)}: no rate to {funding.currency} can "
                "be read from it; book it by hand.",
                assignment=funding.assignment,
            )
            return funding
        funding.stripe_fee = booked
        funding.save(update_fields=["balance_transaction_id", "stripe_fee", "updated_at"])
        converted = (
            ""
            if fee.currency == funding.currency
            else f" ({format_money(fee.fee, fee.currency)} at {fee.exchange_rate or 'the'} rate"
            f" of {format_money(funding.total_amount, funding.currency)} = "
            f"{format_money(fee.amount, fee.currency)})"
        )
        ledger_post(
            transaction_id=f"funding:{funding.pk}:stripe-fee",
            assignment=funding.assignment,
            currency=funding.currency,
            lines={Account.STRIPE_FEES: booked, Account.PLATFORM_FEE: -booked},
            memo=f"Stripe fee, balance transaction {fee.balance_transaction_id}{converted}",
        )
        audit(
            action="funding.stripe_fee",
            target=funding,
            fee=booked,
            settled=f"{fee.fee} {fee.currency}",
        )
    return funding


def fee_in_payment_currency(funding: Funding, fee: ChargeFee) -> int | None:
    """Stripe's fee in the payment's currency: as reported when the balance is in it, else
    converted at the rate the balance transaction implies (its amount is the charge,
    ``total_amount``, converted). None when the transaction has no amount to convert at."""
    if fee.currency == funding.currency:
        return fee.fee
    if fee.amount <= 0:
        return None
    return pro_rata(fee.fee, part=funding.total_amount, whole=fee.amount)


def charge_sync(*, charge_id: str) -> str:
    """A ``charge.updated`` event: the balance transaction may be there now."""
    funding = Funding.objects.filter(charge_id=charge_id).first()
    if funding is None:
        return f"no funding of ours for charge {charge_id}"
    funding = funding_fee_record(funding_id=funding.pk)
    if funding is None or funding.stripe_fee is None:
        return f"charge {charge_id}: no balance transaction yet"
    return f"funding #{funding.pk}: Stripe fee {funding.stripe_fee}"
