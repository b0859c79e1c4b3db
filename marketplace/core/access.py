"""Who may open a page. The one staff-only guard: every staff page uses it, so all of them
answer alike (anonymous: the log-in page, then back; signed in but not staff: 403)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("This page is for staff.")
        return view(request, *args, **kwargs)

    return wrapped
