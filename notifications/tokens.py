"""Signed, secret-free links: the e-mail unsubscribe token.

An unsubscribe link carries ``{"u": user id, "k": kind or "*"}`` signed with the site's secret key
(``django.core.signing``, salted for this purpose only). It does not expire: an old e-mail's link
keeps working, and using it twice changes nothing. A tampered token fails the signature check.
"""

from django.core import signing

from .kinds import KINDS, UNSUBSCRIBE_ALL

_SALT = "notifications.unsubscribe"


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    return signing.Signer(salt=_SALT).sign_object({"u": user_id, "k": kind})


def unsubscribe_token_read(token: str) -> tuple[int, str]:
    """``(user id, kind)``; raises ``signing.BadSignature`` for anything not made by us."""
    data = signing.Signer(salt=_SALT).unsign_object(token)
    if not isinstance(data, dict):
        raise signing.BadSignature("Unexpected payload.")
    user_id, kind = data.get("u"), data.get("k")
    if not isinstance(user_id, int) or not (kind == UNSUBSCRIBE_ALL or kind in KINDS):
        raise signing.BadSignature("Unexpected payload.")
    return user_id, kind
