from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def request_unread_count(request) -> int:
    """The signed-in user's unread notifications, counted at most once per request (the
    navigation and the dashboard's panel both show it)."""
    if not hasattr(request, "_notifications_unread"):
        request._notifications_unread = unread_count(user=request.user)
    return request._notifications_unread


def unread(request):
    """``notifications_unread`` for the navigation; counted only if a template uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: request_unread_count(request))}
