"""Shared fixtures, and the rule for tests that need a service or a browser.

Tests marked ``postgres``, ``celery_worker`` (Redis) or ``e2e`` (Chromium) are skipped with the
reason when the service is missing; under ``CI=true`` they fail instead, so CI never passes
without running them.
"""

import os
import shutil

import pytest
from django.conf import settings

from marketplace.celery import app as celery_app

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing(marker: str) -> str | None:
    if marker == "postgres" and not settings.USING_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "celery_worker" and not settings.REDIS_URL:
        return "needs Redis for a real Celery worker: set REDIS_URL=redis://..."
    if marker == "e2e" and not shutil.which(CHROMIUM):
        return f"needs Chromium at {CHROMIUM}"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "celery_worker", "e2e"):
        if item.get_closest_marker(marker):
            reason = _missing(marker)
            if reason:
                if IN_CI:
                    pytest.fail(f"CI=true and this test {reason}", pytrace=False)
                pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Each test starts with an empty cache (rate limits!) and its own media folder."""
    from django.core.cache import cache

    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    cache.clear()


@pytest.fixture
def celery_eager():
    """Tasks run in-process (the default in tests); for clarity where a test relies on it."""
    assert celery_app.conf.task_always_eager
    return celery_app
