"""/healthz and /readyz: JSON, 200 when every part answers, 503 naming the part that does not."""

import json
import time

import pytest
from django.test import override_settings

from marketplace.celery import app as celery_app


def test_healthz_answers_json_without_touching_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_only_what_a_web_node_needs(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


@pytest.mark.celery_worker
@pytest.mark.django_db
def test_readyz_stays_200_and_fast_with_no_worker_running(client, not_eager):
    """A stalled or stopped worker must not take the web tier out of the load balancer."""
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert time.monotonic() - started < 1.0


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker(client):
    conf = celery_app.conf
    previous = conf.broker_url
    conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        conf.broker_url = previous
        # The check pooled a connection to the closed port: later sends must not reuse it.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"].startswith("error: OperationalError")
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_names_an_unreachable_cache(client):
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    with override_settings(CACHES=unreachable):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"].startswith("error: ")


def test_readyz_names_a_broken_database(run_django, tmp_path):
    """A real failure: the SQLite file's folder does not exist, so the database cannot open."""
    result = run_django(
        code=(
            "import json\n"
            "from django.test import Client\n"
            "r = Client().get('/readyz')\n"
            "print(json.dumps({'status': r.status_code, 'body': r.json()}))\n"
        ),
        env={
            "DATABASE_URL": f"sqlite:///{tmp_path}/missing-folder/db.sqlite3",
            # Eager tasks and an in-process cache: only the database is broken.
            "DJANGO_TESTING": "true",
            "DJANGO_DEBUG": "true",
        },
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["failing"] == ["database"]
    assert "unable to open database file" in answer["body"]["checks"]["database"]
    assert answer["body"]["checks"]["cache"] == "ok"


@pytest.mark.django_db
def test_readyz_hides_error_details_unless_debug(client, settings):
    conf = celery_app.conf
    previous = conf.broker_url
    conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        settings.DEBUG = False
        hidden = client.get("/readyz").json()["checks"]["broker"]
        settings.DEBUG = True
        shown = client.get("/readyz").json()["checks"]["broker"]
    finally:
        conf.broker_url = previous
        # The check pooled a connection to the closed port: later sends must not reuse it.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    assert hidden == "error: OperationalError"
    assert shown.startswith("error: OperationalError: ") and "127.0.0.1:1" in shown
