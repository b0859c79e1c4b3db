"""Keyset (cursor) pagination over the public list, shared by the browser and the API.

A page is "the next N rows after this (sort value, id)", so page 50 costs what page 1 costs
(an index range scan), unlike OFFSET. The cursor is an opaque, URL-safe token holding the sort
value and id of the row it continues from, and the direction.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

# sort name -> (field, descending); the id breaks ties in the same direction.
SORTS: dict[str, tuple[str, bool]] = {
    "newest": ("published_at", True),
    "deadline": ("application_deadline", False),
    "pay": ("amount", True),
    "relevance": ("rank", True),
}
DATETIME_FIELDS = {"published_at", "application_deadline"}


class InvalidCursor(ValueError):
    pass


@dataclass
class Page:
    items: list
    next_cursor: str | None
    previous_cursor: str | None


def _encode(value, pk: int, direction: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk, direction], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, field: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk, direction = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(pk, int) or direction not in ("n", "p"):
            raise InvalidCursor
        if field in DATETIME_FIELDS:
            value = parse_datetime(value) if isinstance(value, str) else None
            if value is None:
                raise InvalidCursor
        elif not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidCursor
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidCursor("The page link is not valid; start again from the first page.") from exc
    return value, pk, direction


def _after(field: str, descending: bool, value, pk: int) -> Q:
    op = "lt" if descending else "gt"
    return Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk})


def page_query(
    queryset: QuerySet, *, sort: str, cursor: str | None, page_size: int
) -> tuple[QuerySet, str]:
    """The query that reads one page (one row more, to know whether another follows) and its
    direction. Separate from ``paginate`` so that the query plans can be checked
    (``postings.plans``). Raises ``InvalidCursor`` for a token that was not made here."""
    field, descending = SORTS[sort]
    order = [f"-{field}", "-pk"] if descending else [field, "pk"]
    direction = "n"
    if cursor:
        value, pk, direction = _decode(cursor, field)
        if direction == "n":
            queryset = queryset.filter(_after(field, descending, value, pk))
        else:
            # Backwards: walk the reversed order from the cursor, then turn the rows round.
            queryset = queryset.filter(_after(field, not descending, value, pk))
            order = [o[1:] if o.startswith("-") else f"-{o}" for o in order]
    return queryset.order_by(*order)[: page_size + 1], direction


def paginate(queryset: QuerySet, *, sort: str, cursor: str | None, page_size: int) -> Page:
    """One page of ``queryset`` in ``sort`` order, from ``cursor`` (None: the first page).

    Raises ``InvalidCursor`` for a token that was not made here.
    """
    field, _ = SORTS[sort]
    query, direction = page_query(queryset, sort=sort, cursor=cursor, page_size=page_size)
    rows = list(query)
    more = len(rows) > page_size
    rows = rows[:page_size]
    if direction == "p":
        rows.reverse()
    has_next = more if direction == "n" else True
    has_previous = bool(cursor) if direction == "n" else more
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    return Page(
        items=rows,
        next_cursor=_encode(getattr(last, field), last.pk, "n") if has_next and last else None,
        previous_cursor=(
            _encode(getattr(first, field), first.pk, "p") if has_previous and first else None
        ),
    )
