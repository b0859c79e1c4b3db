"""Payout state for pages of other apps (the assignment page): applications never imports
payments, so its templates ask through these tags."""

from django import template

from payments.models import Payout
from payments.selectors import payout_account_for

register = template.Library()


@register.simple_tag
def payout_ready(student) -> bool:
    """Whether ``student`` can receive payouts now (one query)."""
    account = payout_account_for(student=student)
    return bool(account and account.is_ready)


@register.simple_tag
def payout_waiting(milestone) -> bool:
    """Whether this milestone's payout waits for the student's payout account (one query)."""
    return Payout.objects.filter(
        milestone=milestone, status=Payout.Status.PENDING, waiting_for_account=True
    ).exists()
