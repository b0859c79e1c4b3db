"""A short-lived cache of the public pages (the list, its API and a posting's page): whole
answers for anonymous visitors, and the part of the list every visitor shares for signed-in ones.

Most traffic on these pages is anonymous and asks for the same few URLs (the first page, a
popular filter, a posting that was shared). Their rendered body is cached for
``POSTINGS_PAGE_CACHE_SECONDS`` under a key made of the full URL and a *postings version*; every
service that changes a posting bumps the version after its transaction commits, so a change
shows at once and the timeout only bounds what the version does not cover (an employer's rating
or verified badge).

Only the body is cached, never the response's cookies; requests that carry a session or
messages are never served from (or stored in) the cache, and a page whose rendering used the
visitor's CSRF token or showed a message is not stored (see ``_personal``), so no token, message
or name of one visitor is served to another.

Signed-in visitors share the rest (``shared``): the list's filters, count and cards are the same
for everyone who asks for the same URL in the same time zone, so they are cached the same way and
only the visitor's own parts (the header, the "save this search" form) are rendered per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

VERSION_KEY = "postings:version"
T = TypeVar("T")


def postings_changed() -> None:
    """Call inside the transaction that changed a posting: cached pages expire on commit."""

    def bump() -> None:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.add(VERSION_KEY, 2, timeout=None)

    transaction.on_commit(bump)


def _cacheable(request: HttpRequest) -> bool:
    return (
        settings.POSTINGS_PAGE_CACHE_SECONDS > 0
        and request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


def _personal(request: HttpRequest) -> bool:
    """Did rendering put something of this visitor into the page? ``get_token`` (a
    ``{% csrf_token %}``) flags the cookie for sending; shown messages are in the storage."""
    messages = getattr(request, "_messages", None)
    return bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE")) or bool(messages and len(messages))


def _current_version(found: dict) -> int:
    """The postings version from a ``get_many`` that asked for it (made if there is none)."""
    version = found.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return version


def shared(
    request: HttpRequest, kind: str, build: Callable[[], T], *, keep: Callable[[T], bool]
) -> T:
    """What ``build()`` makes for this URL, shared by every visitor in the same time zone (signed
    in or not) while the postings version is unchanged; ``keep`` says whether a result may be
    stored (never one that holds something of the visitor). One cache round trip on a hit, which
    is noted on the request (``shared_hit``: the view says so in an ``X-Cache`` header)."""
    if settings.POSTINGS_PAGE_CACHE_SECONDS <= 0 or request.method != "GET":
        return build()
    key = _key(request, f"{kind}|{timezone.get_current_timezone_name()}")
    found = cache.get_many([VERSION_KEY, key])
    version = _current_version(found)
    hit = found.get(key)
    if hit is not None and hit[0] == version:
        request.shared_hit = True  # type: ignore[attr-defined]
        return hit[1]
    value = build()
    if keep(value):
        cache.set(key, (version, value), timeout=settings.POSTINGS_PAGE_CACHE_SECONDS)
    return value


def _key(request: HttpRequest, kind: str) -> str:
    url = request.build_absolute_uri()
    digest = hashlib.sha256(f"{kind}|{url}".encode()).hexdigest()[:32]
    return f"postings:page:{digest}"


def cache_anonymous(kind: str, *, skip_html: bool = False) -> Callable:
    """Wrap a view (before DRF sees the request, for the API) so that anonymous GETs of the
    same URL are answered from the cache while the postings version is unchanged.

    One round trip to the cache per request: the page and the current version are fetched
    together, and a page stored under an older version is ignored. Only 200 answers without
    cookies of their own are stored. ``skip_html``: the API's browsable HTML is not cached.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not _cacheable(request) or (
                skip_html and "text/html" in request.META.get("HTTP_ACCEPT", "")
            ):
                return view(request, *args, **kwargs)
            key = _key(request, kind)
            found = cache.get_many([VERSION_KEY, key])
            version = _current_version(found)
            hit = found.get(key)
            if hit is not None and hit[0] == version:
                response = HttpResponse(hit[2], content_type=hit[1])
                response["X-Cache"] = "hit"
                return response
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.cookies:
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                if _personal(request):
                    return response
                cache.set(
                    key,
                    (version, response["Content-Type"], response.content),
                    timeout=settings.POSTINGS_PAGE_CACHE_SECONDS,
                )
            return response

        return wrapped

    return decorator
