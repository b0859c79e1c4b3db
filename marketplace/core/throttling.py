"""API throttling: per anonymous IP, per user, and tighter scoped rates for the writes that
cost other people something (a new posting for moderators, an application for an employer, a
message or a report for its reader).

The rates are settings (``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, from the environment) and
are read on every request, not when the class is imported, so they can change without a
restart of the test process. A throttled request gets 429 with ``Retry-After`` and the one
error body (``marketplace.core.api.exception_handler``).

A view names its costly writes with ``costly_writes``: ViewSet action or HTTP method -> scope,
e.g. ``{"create": "applications"}`` or ``{"post": "reports"}``.
"""

from array import array

from rest_framework import throttling
from rest_framework.settings import api_settings


class _RatesFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    """Anonymous requests, per client IP (``NUM_PROXIES`` says which address is the client's)."""


class UserThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    """Signed-in requests, per user (anonymous ones per IP)."""


class RateThrottle(throttling.BaseThrottle):
    """``AnonThrottle`` and ``UserThrottle`` as one throttle, with the same buckets, rates and
    answers, whose histories are read in one cache round trip and written in one, instead of
    a read and a write per bucket: an anonymous request counts against two buckets (its IP's
    ``anon`` and ``user`` ones), four round trips as two throttles.

    As with the two throttles, a request is refused when any bucket is full, and it is
    counted in each bucket that is not."""

    parts = (AnonThrottle, UserThrottle)

    def allow_request(self, request, view):
        buckets = []
        for part in self.parts:
            throttle = part()
            if throttle.rate is not None:
                throttle.key = throttle.get_cache_key(request, view)
                if throttle.key is not None:
                    buckets.append(throttle)
        self.full = []
        if not buckets:
            return True
        cache = buckets[0].cache
        histories = cache.get_many([b.key for b in buckets])
        now = buckets[0].timer()
        counted: dict[int, dict] = {}  # duration -> {key: history}
        for bucket in buckets:
            bucket.now = now
            # An array of floats: with a high rate a bucket holds thousands of times, which
            # are (un)pickled on each request, many times faster than a list of floats.
            bucket.history = array("d", histories.get(bucket.key, ()))
            while bucket.history and bucket.history[-1] <= now - bucket.duration:
                bucket.history.pop()
            if len(bucket.history) >= bucket.num_requests:
                self.full.append(bucket)
            else:
                bucket.history.insert(0, now)
                counted.setdefault(bucket.duration, {})[bucket.key] = bucket.history
        for duration, entries in counted.items():
            cache.set_many(entries, duration)
        return not self.full

    def wait(self):
        waits = [w for w in (bucket.wait() for bucket in self.full) if w is not None]
        return max(waits, default=None)


def costly_scope(request, view) -> str | None:
    writes = getattr(view, "costly_writes", None) or {}
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    return writes.get(getattr(view, "action", None) or request.method.lower())


class CostlyWriteThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
    """The writes a view lists in ``costly_writes``, per user and scope."""

    def __init__(self):
        # The scope depends on the request; the rate is set in allow_request.
        pass

    def allow_request(self, request, view):
        self.scope = costly_scope(request, view)
        if self.scope is None:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
