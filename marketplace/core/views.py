import sys

from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import loader
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .panels import render_panels

# What Django raises when PostgreSQL cannot be reached or the connection dropped.
DB_UNAVAILABLE = (OperationalError, InterfaceError)


@require_safe
def home(request):
    return render(request, "core/home.html", {"panels": render_panels(request)})


@require_safe
@login_required
def dashboard(request):
    """Every app's panels for this user (see ``marketplace.core.panels``)."""
    return render(request, "core/dashboard.html", {"panels": render_panels(request)})


@require_safe
@never_cache
def csrf(request):
    """The visitor's own CSRF token, and its cookie. Cached pages are shared by every visitor, so
    they carry no token; site.js asks here once when the visitor has no cookie yet."""
    return JsonResponse({"token": get_token(request)})


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the site's icon."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)


def _api_error(message: str, code: str, status: int) -> JsonResponse:
    """The API's one error body (``marketplace.core.api``), for the answers Django gives before
    or outside a DRF view: a URL that matches no route, a refused request, a crash."""
    return JsonResponse({"message": message, "code": code, "fields": {}}, status=status)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    """``handler400``: the error body under /api/, the page elsewhere."""
    if _is_api(request):
        return _api_error("The request was refused as malformed.", "bad_request", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    """``handler403``: the error body under /api/, the page elsewhere."""
    if _is_api(request):
        return _api_error("You do not have permission to do this.", "permission_denied", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    """``handler404``: under /api/ (say, a path whose id is not a number) the error body, as
    for an object that does not exist; elsewhere the page."""
    if _is_api(request):
        return _api_error("Not found.", "not_found", 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """``handler500``: a database that cannot be reached is a 503 "try again shortly" page; any
    other crash the plain 500 page. Both are templates with no context, so they render without
    the database."""
    _type, exc, _tb = sys.exc_info()
    if isinstance(exc, DB_UNAVAILABLE) and _is_api(request):
        response = _api_error("The service is briefly unavailable; try again.", "unavailable", 503)
        response["Retry-After"] = "30"
        return response
    if _is_api(request):
        return _api_error("Something went wrong on our side.", "server_error", 500)
    if isinstance(exc, DB_UNAVAILABLE):
        html = loader.get_template("503.html").render()
        response = HttpResponse(html, status=503)
        response["Retry-After"] = "30"
        return response
    return defaults.server_error(request)
