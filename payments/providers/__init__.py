"""Payment providers behind one interface (``base.PaymentProvider``).

``get_provider()`` is Stripe when ``STRIPE_SECRET_KEY`` is set, else the offline test provider.
"""

from typing import Any

from django.conf import settings

from .base import PaymentProvider

_cache: dict[tuple[Any, ...], PaymentProvider] = {}


def get_provider() -> PaymentProvider:
    key = (
        settings.STRIPE_SECRET_KEY,
        tuple(settings.STRIPE_WEBHOOK_SECRET),
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT,
    )
    provider = _cache.get(key)
    if provider is None:
        if settings.STRIPE_SECRET_KEY:
            from .stripe import StripeProvider

            provider = StripeProvider(
                api_key=settings.STRIPE_SECRET_KEY,
                webhook_secrets=list(settings.STRIPE_WEBHOOK_SECRET),
                api_base=settings.STRIPE_API_BASE,
                timeout=settings.STRIPE_TIMEOUT,
            )
        else:
            from .test import TestProvider

            provider = TestProvider()
        _cache.clear()
        _cache[key] = provider
    return provider


def is_test_mode() -> bool:
    return not settings.STRIPE_SECRET_KEY
