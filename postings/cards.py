"""The posting card of the lists, rendered once and shared: its HTML is cached under a key made
of everything the card shows (and the time zone its dates are shown in), so a change to any of
it is a new key and no cache entry ever needs to be removed. A page's cards come from the cache
in one round trip (``get_many``); only the missing ones are rendered, and stored in one more.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from .models import Posting

TEMPLATE = "postings/_card.html"
TIMEOUT = 24 * 60 * 60  # a card unseen for a day is rendered again when next shown

# What the card shows; a change to any of them makes a new key.
SHOWN = (
    "pk",
    "title",
    "format",
    "duration_hours",
    "effort_hours",
    "hours_per_week",
    "compensation",
    "amount",
    "currency",
    "work_mode",
    "location",
    "application_deadline",
    "skill_names",
)


def card_key(posting: Posting, zone: str) -> str:
    shown = [getattr(posting, name) for name in SHOWN]
    shown += [posting.employer.name, posting.employer.verified, zone]
    digest = hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()
    return f"postings:card:{digest}"


def posting_cards(postings: list[Posting]) -> list[SafeString]:
    """The cards of ``postings``, in order."""
    if not postings:
        return []
    zone = timezone.get_current_timezone_name()
    keys = [card_key(posting, zone) for posting in postings]
    found = cache.get_many(keys)
    missing: dict[str, str] = {}
    template = None
    cards = []
    for posting, key in zip(postings, keys, strict=True):
        html = found.get(key)
        if html is None:
            template = template or get_template(TEMPLATE)
            html = missing[key] = template.render({"posting": posting})
        cards.append(mark_safe(html))  # noqa: S308 - our template's output, escaped there
    if missing:
        cache.set_many(missing, timeout=TIMEOUT)
    return cards
