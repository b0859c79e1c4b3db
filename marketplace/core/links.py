"""Absolute links that work on whatever address the site is served on.

A link built while answering a request uses that request's own scheme and host (already checked
against ``ALLOWED_HOSTS`` by Django), so a site on ``127.0.0.1:8765`` or behind a proxy links to
itself. Work done outside a request (Celery tasks: e-mails, digests) uses ``SITE_URL``, which
``manage.py serve`` sets from its own address for the worker it starts.

The request's origin is held in a context variable for the length of the request, the way Django
holds the script prefix, so that a service called from a view (a checkout's return address) gets
the right origin without every signature growing a ``request`` argument.
"""

from contextvars import ContextVar

from django.conf import settings

_origin: ContextVar[str | None] = ContextVar("request_origin", default=None)


def site_url() -> str:
    """``scheme://host[:port]`` of the current request, else ``SITE_URL``; no trailing slash."""
    return _origin.get() or settings.SITE_URL


def absolute(path_or_url: str) -> str:
    """A site path made absolute; an absolute URL is returned as it is."""
    if path_or_url.startswith("/"):
        return site_url() + path_or_url
    return path_or_url


def site_url_for(addrport: str) -> str:
    """The address a development server on ``addrport`` (``8765``, ``host:port``) answers on.

    A wildcard bind (``0.0.0.0``, ``::``) answers on the loopback address too, and a link cannot
    point at a wildcard, so links use ``127.0.0.1`` for it.
    """
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in {"0.0.0.0", "::", "0"}:  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port or '8000'}"


class RequestOriginMiddleware:
    """Remember the origin of the request being answered (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _origin.set(f"{request.scheme}://{request.get_host()}")
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)
