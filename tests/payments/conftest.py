import pytest

from payments.providers import get_provider

from .stripe_standin import StripeStandIn

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture
def stripe_api(settings):
    """The Stripe provider (the real ``stripe`` library) against the local stand-in."""
    server = StripeStandIn().start()
    settings.STRIPE_SECRET_KEY = server.secret_key
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_WEBHOOK_SECRET = [WEBHOOK_SECRET]
    settings.STRIPE_TIMEOUT = 1.0
    settings.STRIPE_NETWORK_RETRY_DELAY = 0.01
    yield server
    server.stop()


@pytest.fixture
def test_provider(settings):
    settings.STRIPE_SECRET_KEY = ""
    provider = get_provider()
    assert provider.name == "test"
    return provider


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """``with on_commit(): ...`` runs what the block enqueued after commit (tasks are eager)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
