from django import template

from marketplace.core.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """``{{ payout.amount|money:payout.currency }}`` -> ``"123.45 USD"``."""
    if amount is None:
        return ""
    return format_money(int(amount), currency or "USD")
