from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .panels import render_panels


def home(request):
    return render(request, "core/home.html", {"panels": render_panels(request)})


@login_required
def dashboard(request):
    """Every app's panels for this user (see ``marketplace.core.panels``)."""
    return render(request, "core/dashboard.html", {"panels": render_panels(request)})


@never_cache
def csrf(request):
    """The visitor's own CSRF token, and its cookie. Cached pages are shared by every visitor, so
    they carry no token; site.js asks here once when the visitor has no cookie yet."""
    return JsonResponse({"token": get_token(request)})


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the site's icon."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)
