"""Which formats fit a student's week and goal, and a search link for them that never leads to
an empty list (the "What fits me?" helper of the formats page)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse

from . import selectors
from .filters import PostingFilter
from .models import Format

GOAL_FORMATS = {
    "deep": [Format.INTERNSHIP, Format.PROJECT],
    "skill": [Format.NANO, Format.MICRO],
    "portfolio": [Format.MICRO, Format.PROJECT],
    "earn": [Format.NANO, Format.MICRO],
}


def formats_for(*, hours_per_week: int, goal: str) -> list[str]:
    """The formats that suit a goal, without those that need more hours than the student has:
    projects and internships ask for steady weekly hours (about 10 or more)."""
    formats = list(GOAL_FORMATS[goal])
    if hours_per_week < 10:
        # Deep experience in few hours: the longest format that fits is micro.
        formats = [f for f in formats if f in (Format.NANO, Format.MICRO)] or [Format.MICRO]
    return [str(f) for f in formats]


def search_link(**params) -> str:
    return reverse("postings:list") + "?" + urlencode(params, doseq=True)


def _matches(params: dict) -> bool:
    filterset = PostingFilter(
        QueryDict(urlencode(params, doseq=True)), queryset=selectors.postings_listed()
    )
    return filterset.is_valid() and filterset.qs.exists()


# When nothing open fits exactly, the advice's link widens in this order (and says so), so that
# "See postings that fit" never leads to an empty list.
WIDENINGS: list[tuple[tuple[str, ...], str]] = [
    (("max_hours_per_week",), "without the limit on weekly hours"),
    (("compensation", "sort"), "paid or for credit"),
    (("format",), "of every format"),
]


def widened(params: dict) -> tuple[dict, str]:
    """``params`` as they are when something open matches; else widened step by step until
    something does, with the words saying how."""
    if _matches(params):
        return params, ""
    dropped: list[str] = []
    for keys, words in WIDENINGS:
        if not any(key in params for key in keys):
            continue
        params = {k: v for k, v in params.items() if k not in keys}
        dropped.append(words)
        if _matches(params):
            break
    return params, (
        "No open posting fits exactly right now, so the link shows postings "
        + ", ".join(dropped)
        + "."
    )
