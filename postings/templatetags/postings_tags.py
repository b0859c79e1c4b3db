from django import template
from django.conf import settings

from marketplace.core.money import format_money, percent_of
from postings.rules import describe_hours

register = template.Library()


@register.filter
def money(amount, currency=""):
    """Integer minor units as an amount: ``50000|money:"USD"`` -> ``500.00 USD``."""
    if amount is None or amount == "":
        return ""
    return format_money(int(amount), currency).strip()


@register.filter
def fee_on(amount):
    """The platform fee an employer pays on top of ``amount`` minor units (on the whole, as the
    funding quote computes it)."""
    return percent_of(int(amount or 0), settings.PLATFORM_FEE_PERCENT)


@register.filter
def with_fee(amount):
    """What an employer pays for one assignment of ``amount``: the pay plus the platform fee."""
    return int(amount or 0) + fee_on(amount)


@register.simple_tag
def moderation_counts():
    """Counts for the staff navigation (one query; only rendered for staff)."""
    from postings.selectors import moderation_counts as counts

    return counts()


@register.simple_tag
def fee_percent():
    return settings.PLATFORM_FEE_PERCENT


@register.filter
def hours_human(hours):
    """336 -> "2 weeks", 36 -> "36 hours"."""
    return describe_hours(int(hours)) if hours not in (None, "") else ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (None removes them)."""
    params = context["request"].GET.copy()
    params.pop("cursor", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return f"?{params.urlencode()}"


@register.filter
def get_list(mapping, key):
    return mapping.get(key, [])


@register.filter
def get_value(mapping, key):
    return mapping.get(key, "")
