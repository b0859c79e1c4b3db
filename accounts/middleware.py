"""Staff must log in with two factors.

A staff user without an authenticator is sent to set one up before any other page (or, over
the API with a session, gets a 403 saying so). The two-factor pages, log-out, e-mail and
password pages, static files and the health checks stay open so that setting it up works.
"""

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/readyz", "/csrf/")


class StaffTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and not request.path.startswith(OPEN_PREFIXES)
            and not is_mfa_enabled(user)
        ):
            return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request):
        message = "Staff accounts need two-factor authentication: set up an authenticator app."
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"message": message, "code": "mfa_required", "fields": {}}, status=403
            )
        messages.warning(request, message)
        return redirect(reverse("mfa_activate_totp"))
