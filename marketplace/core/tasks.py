from celery import shared_task
from django.core.cache import cache


@shared_task(name="core.readyz_ping")
def readyz_ping(token: str) -> None:
    """The health check's round-trip: a worker proves it runs by writing the token back."""
    cache.set(f"readyz:{token}", "pong", timeout=60)
