"""Settings from the environment: embedded defaults, Redis when REDIS_URL is set, and a
production mode that refuses to start without its secrets and passes ``check --deploy``.

Each case runs Django in a subprocess, because settings are read once per process.
"""

import json

import pytest

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "x7#Kq2!vLp9@Zr4$Wm8^Tn3&Yb6*Hc1(Jd5)Fg0-Se-a-long-production-like-key",
    "DJANGO_ALLOWED_HOSTS": "marketplace.example.com",
    "DATABASE_URL": "postgres://app:secret@db.internal:5432/marketplace",
    "REDIS_URL": "redis://cache.internal:6379/0",
}

SHOW = (
    "import json\n"
    "from django.conf import settings as s\n"
    "print(json.dumps({\n"
    "  'engine': s.DATABASES['default']['ENGINE'],\n"
    "  'db_name': str(s.DATABASES['default']['NAME']),\n"
    "  'db_options': s.DATABASES['default'].get('OPTIONS', {}),\n"
    "  'cache': s.CACHES['default']['BACKEND'],\n"
    "  'cache_location': str(s.CACHES['default'].get('LOCATION', '')),\n"
    "  'broker': s.CELERY_BROKER_URL,\n"
    "  'debug': s.DEBUG,\n"
    "  'email': s.EMAIL_BACKEND,\n"
    "  'session_secure': s.SESSION_COOKIE_SECURE,\n"
    "  'csrf_secure': s.CSRF_COOKIE_SECURE,\n"
    "  'hsts': s.SECURE_HSTS_SECONDS,\n"
    "  'hsts_subdomains': s.SECURE_HSTS_INCLUDE_SUBDOMAINS,\n"
    "  'ssl_redirect': s.SECURE_SSL_REDIRECT,\n"
    "  'eager': s.CELERY_TASK_ALWAYS_EAGER,\n"
    "}))\n"
)


def _show(run_django, env=None) -> dict:
    result = run_django(code=SHOW, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_need_no_server(run_django, tmp_path):
    shown = _show(run_django)
    assert shown["engine"] == "django.db.backends.sqlite3"
    assert shown["db_name"] == str(tmp_path / "var" / "marketplace.sqlite3")
    assert shown["db_options"]["transaction_mode"] == "IMMEDIATE"
    assert shown["cache"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert shown["broker"].startswith("filesystem://")
    assert shown["email"] == "django.core.mail.backends.console.EmailBackend"
    assert shown["debug"] is True
    assert shown["eager"] is False  # make run's worker really runs the tasks
    assert shown["session_secure"] is False


def test_redis_url_is_the_broker_and_the_cache(run_django):
    shown = _show(run_django, {"REDIS_URL": "redis://127.0.0.1:6379/5"})
    assert shown["broker"] == "redis://127.0.0.1:6379/5"
    # Redis, degrading to "not cached" when it is down (marketplace/core/cache.py).
    assert shown["cache"] == "marketplace.core.cache.TolerantRedisCache"
    assert shown["cache_location"] == "redis://127.0.0.1:6379/5"


def test_database_url_selects_postgresql(run_django):
    shown = _show(run_django, {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/shop"})
    assert shown["engine"] == "django.db.backends.postgresql"
    assert shown["db_name"] == "shop"
    # Short: with the database down pages answer a 503 quickly (DATABASE_CONNECT_TIMEOUT).
    assert shown["db_options"]["connect_timeout"] == 3


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"]
)
def test_production_refuses_to_start_without_a_required_variable(run_django, missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_django(args=["check"], env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"The environment variable {missing} is required" in result.stderr


def test_production_ignores_the_development_secret_default(run_django):
    result = run_django(args=["check"], env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_has_secure_cookies_and_hsts(run_django):
    shown = _show(run_django, PRODUCTION_ENV)
    assert shown["debug"] is False
    assert shown["session_secure"] is True
    assert shown["csrf_secure"] is True
    assert shown["hsts"] >= 31536000
    assert shown["hsts_subdomains"] is True
    assert shown["ssl_redirect"] is True
    # The same backend, wrapped to count queries for /metrics (METRICS_DATABASE).
    assert shown["engine"] == "django_prometheus.db.backends.postgresql"
    assert shown["broker"] == PRODUCTION_ENV["REDIS_URL"]


def test_check_deploy_is_clean_in_production(run_django):
    result = run_django(args=["check", "--deploy", "--fail-level", "WARNING"], env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_catches_a_weak_production_setting(run_django):
    """The check above is not vacuous: debug on in production fails it."""
    result = run_django(
        args=["check", "--deploy", "--fail-level", "WARNING"],
        env={**PRODUCTION_ENV, "DJANGO_DEBUG": "true"},
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr
