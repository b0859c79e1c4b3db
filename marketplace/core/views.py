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


def server_error(request):
    """``handler500``: a database that cannot be reached is a 503 "try again shortly" page; any
    other crash the plain 500 page. Both are templates with no context, so they render without
    the database."""
    _type, exc, _tb = sys.exc_info()
    if isinstance(exc, DB_UNAVAILABLE) and request.path.startswith("/api/"):
        response = JsonResponse(
            {"message": "The service is briefly unavailable; try again.", "code": "unavailable"},
            status=503,
        )
        response["Retry-After"] = "30"
        return response
    if isinstance(exc, DB_UNAVAILABLE):
        html = loader.get_template("503.html").render()
        response = HttpResponse(html, status=503)
        response["Retry-After"] = "30"
        return response
    return defaults.server_error(request)
