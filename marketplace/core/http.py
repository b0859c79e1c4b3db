"""Small HTTP helpers shared by the apps' views."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The ``next`` parameter (POST, then GET) if it points into this site, else ``fallback``.

    Guards every "back to where you came from" redirect against open redirects.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# A page with a form that posts back to it: GET (and HEAD) show it, POST sends it; any other
# method is a 405. Like Django's ``require_safe`` (a page) and ``require_POST`` (an action), it
# goes above the log-in and role checks, so the answer does not depend on who asks.
require_form_page = require_http_methods(["GET", "HEAD", "POST"])
