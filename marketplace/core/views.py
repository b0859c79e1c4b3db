from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .panels import render_panels


def home(request):
    return render(request, "core/home.html", {"panels": render_panels(request)})


@login_required
def dashboard(request):
    """Every app's panels for this user (see ``marketplace.core.panels``)."""
    return render(request, "core/dashboard.html", {"panels": render_panels(request)})
