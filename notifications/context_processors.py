from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def unread(request):
    """``notifications_unread`` for the navigation; counted only if a template uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: unread_count(user=user))}
