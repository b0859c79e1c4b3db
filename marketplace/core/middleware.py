import zoneinfo

from django.http import JsonResponse
from django.utils import timezone


class UserTimezoneMiddleware:
    """Show every date in the viewer's time zone (their profile's, else UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz_name = getattr(getattr(request, "user", None), "time_zone", "") or "UTC"
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# The header static/js/uploads.js sends with a form it uploads itself (to show its progress).
UPLOAD_HEADER = "X-Upload-Progress"


class UploadRedirectMiddleware:
    """A form sent by ``uploads.js`` gets its redirect as JSON instead of a 3xx.

    A script's request follows redirects by itself: the page after a successful upload would be
    fetched by the script (using up its one-time "saved" message) and then again by the browser.
    Answering ``{"redirect": url}`` lets the script send the browser there once. Every other
    answer (a form with its errors, a failure) is untouched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method == "POST"
            and UPLOAD_HEADER in request.headers
            and 300 <= response.status_code < 400
            and response.has_header("Location")
        ):
            answer = JsonResponse({"redirect": response["Location"]})
            answer.cookies = response.cookies  # the "saved" message may travel in a cookie
            return answer
        return response
