"""The list's "N postings" line, counted once per search rather than once per page.

Counting the matches of a combination of filters reads every match (up to ``COUNT_LIMIT``),
where the page itself reads about a page of rows: at 100,000 postings the count was most of
the list's database time. So the count is

- not asked for at all when the first page holds every match (it is the number of rows);
- otherwise read from the cache, stored under the search (its canonical query without the
  sort, which does not change the matches, and the time zone the dates are read in) with the
  postings version it was counted at (``postings.cache``): the next pages, the other sorts and
  every visitor of the same search share it, and any change to a posting makes it counted
  again. The version and the count come in one round trip.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from .cache import VERSION_KEY
from .pagination import Page

# The count reads at most this many matches: counting every match of a broad filter at
# 100,000 postings would cost more than the page itself. Beyond it the page says "1,000+".
COUNT_LIMIT = 1000
TIMEOUT = 10 * 60  # a count not asked for again is dropped after this long


def _key(search: str) -> str:
    zone = timezone.get_current_timezone_name()
    digest = hashlib.blake2b(f"{search}|{zone}".encode(), digest_size=16).hexdigest()
    return f"postings:count:{digest}"


def bounded_count(queryset: QuerySet) -> int:
    """The number of matches, up to ``COUNT_LIMIT`` + 1 (which means "more")."""
    return queryset.order_by()[: COUNT_LIMIT + 1].count()


def match_count(queryset: QuerySet, *, page: Page, first_page: bool, search: str) -> int:
    """The number of rows of ``queryset`` (up to ``COUNT_LIMIT`` + 1), of which ``page`` is
    a page (``first_page`` when no cursor was given); ``search`` names the set of matches
    (what the cache keeps the count under)."""
    if first_page and page.next_cursor is None:
        return len(page.items)
    key = _key(search)
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is None and cache.add(VERSION_KEY, 1, timeout=None):
        version = 1  # the first count since the cache was emptied
    stored = found.get(key)
    if version is not None and stored is not None and stored[0] == version:
        return stored[1]
    count = bounded_count(queryset)
    if version is not None:
        cache.set(key, (version, count), timeout=TIMEOUT)
    return count
