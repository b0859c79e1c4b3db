"""A Redis cache that degrades to "no cache" when Redis does not answer.

The cache is an optimisation: a page that cannot be read from or written to it is rendered
anyway. Each failure is logged (once per outage, not once per call), and for
``CACHE_DOWN_RETRY_SECONDS`` after a failure this process does not try Redis again, so a Redis
that hangs rather than refuses costs one ``socket_connect_timeout``, not one per cache call.

``ping()`` always asks Redis and raises when it does not answer (``/readyz`` uses it).
"""

from __future__ import annotations

import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django_prometheus.cache.metrics import (  # type: ignore[import-untyped]
    django_cache_get_fail_total,
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
_UNAVAILABLE = object()  # what _get answers when Redis is down
_ABSENT = object()  # the default passed to Redis: tells a miss from a stored None
# LOCATION -> monotonic time until which Redis is treated as down (per process; Django makes a
# cache object per thread, so the state cannot live on the object).
_down_until: dict[str, float] = {}


def _tolerant(fallback):
    """Wrap a cache method: when Redis is down, answer ``fallback(*args, **kwargs)`` instead."""

    def decorator(method):
        @wraps(method)
        def wrapped(self, *args, **kwargs):
            if _down_until.get(self._location, 0.0) > time.monotonic():
                return fallback(*args, **kwargs)
            try:
                result = method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                self._mark_down(exc)
                return fallback(*args, **kwargs)
            if self._location in _down_until:
                self._mark_up()
            return result

        return wrapped

    return decorator


def _missing_counter(key, delta=1, version=None):
    raise ValueError(f"Key {key!r} not found (the cache is unavailable)")


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis client, keeping one ``redis.Redis`` per connection pool: Django builds a
    new one for every cache call, and building one (its table of response callbacks) costs more
    CPU than the call's round trip. A ``redis.Redis`` is safe to share; its connections come
    from the pool as before."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class TolerantRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
        self._location = server if isinstance(server, str) else ",".join(server)

    def _mark_down(self, exc: Exception) -> None:
        # Logged at most once per retry period and process: calls in between do not try Redis.
        logger.warning("cache unavailable, answering without it: %s", exc)
        _down_until[self._location] = time.monotonic() + settings.CACHE_DOWN_RETRY_SECONDS

    def _mark_up(self) -> None:
        if _down_until.pop(self._location, None) is not None:
            logger.warning("cache available again")

    def ping(self) -> bool:
        self._cache.get_client(write=True).ping()
        self._mark_up()
        return True

    add = _tolerant(lambda *a, **k: False)(RedisCache.add)
    _get = _tolerant(lambda *a, **k: _UNAVAILABLE)(RedisCache.get)

    def get(self, key, default=None, version=None):
        """Counted for /metrics: gets, hits, misses, and failures (Redis down)."""
        django_cache_get_total.labels(backend="redis").inc()
        value = self._get(key, _ABSENT, version)
        if value is _UNAVAILABLE:
            django_cache_get_fail_total.labels(backend="redis").inc()
            return default
        if value is _ABSENT:
            django_cache_misses_total.labels(backend="redis").inc()
            return default
        django_cache_hits_total.labels(backend="redis").inc()
        return value

    set = _tolerant(lambda *a, **k: None)(RedisCache.set)
    touch = _tolerant(lambda *a, **k: False)(RedisCache.touch)
    delete = _tolerant(lambda *a, **k: False)(RedisCache.delete)
    get_many = _tolerant(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _tolerant(lambda *a, **k: False)(RedisCache.has_key)
    incr = _tolerant(_missing_counter)(RedisCache.incr)
    set_many = _tolerant(lambda data, *a, **k: list(data))(RedisCache.set_many)
    delete_many = _tolerant(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _tolerant(lambda *a, **k: False)(RedisCache.clear)
