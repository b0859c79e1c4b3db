"""The rule for tests that need a service: skipped with the reason locally, failed under CI."""

import pytest

from tests import conftest


class _Item:
    def __init__(self, *markers: str):
        self.markers = set(markers)

    def get_closest_marker(self, name):
        return name if name in self.markers else None


def test_missing_redis_skips_with_the_reason_outside_ci(monkeypatch, settings):
    monkeypatch.setattr(conftest, "IN_CI", False)
    settings.REDIS_URL = ""
    with pytest.raises(pytest.skip.Exception, match="needs Redis"):
        conftest.pytest_runtest_setup(_Item("celery_worker"))


def test_missing_postgres_fails_under_ci(monkeypatch, settings):
    monkeypatch.setattr(conftest, "IN_CI", True)
    settings.USING_POSTGRES = False
    with pytest.raises(pytest.fail.Exception, match="CI=true and this test needs PostgreSQL"):
        conftest.pytest_runtest_setup(_Item("postgres"))


def test_missing_chromium_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "IN_CI", True)
    monkeypatch.setattr(conftest, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.fail.Exception, match="needs Chromium"):
        conftest.pytest_runtest_setup(_Item("e2e"))


def test_present_services_run_the_test(monkeypatch, settings):
    monkeypatch.setattr(conftest, "IN_CI", True)
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.USING_POSTGRES = True
    conftest.pytest_runtest_setup(_Item("celery_worker", "postgres"))  # neither skips nor fails


def test_unmarked_tests_never_skip(monkeypatch, settings):
    monkeypatch.setattr(conftest, "IN_CI", False)
    settings.REDIS_URL = ""
    settings.USING_POSTGRES = False
    conftest.pytest_runtest_setup(_Item())
