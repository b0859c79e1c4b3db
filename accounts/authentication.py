"""API tokens (hashed, named, several per user) and the "recent log-in" rule for making one.

Clients send ``Authorization: Token <key>`` as before; the key is hashed and looked up.
"""

import hashlib
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken

# How often a token's "last used" is written: not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)
PREFIX_LENGTH = 8


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_key_new() -> str:
    return secrets.token_urlsafe(32)


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` against the hashed ``ApiToken`` rows."""

    def authenticate_credentials(self, key):
        if "\x00" in key:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token


def recently_logged_in(request) -> bool:
    """Whether this browser session logged in (or confirmed the password or a code) within
    ``API_TOKEN_RECENT_LOGIN_SECONDS``. A token request, or an old session, is not recent."""
    from allauth.account.internal.flows.login import get_authentication_records

    if not getattr(request, "session", None) or not request.user.is_authenticated:
        return False
    records = get_authentication_records(request, request.user)
    if not records:
        return False
    newest = max(record.get("at", 0) for record in records)
    return time.time() - newest < settings.API_TOKEN_RECENT_LOGIN_SECONDS
