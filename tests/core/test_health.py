"""/healthz and /readyz: JSON, 200 when every part answers, 503 naming the part that does not."""

import json

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
def test_readyz_in_tests_says_the_ping_ran_in_process_not_on_a_worker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"] == {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok"}
    assert body["worker"] == "eager (in-process)"
    assert "failing" not in body


@pytest.mark.celery_worker
@pytest.mark.django_db
def test_readyz_all_ok_with_the_ping_executed_by_a_real_worker(client, running_worker):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"].values()) == {"ok"}
    # The answer came from the worker, through Redis: not an eager in-process call.
    assert body["worker"]
    assert body["worker"] != "eager (in-process)"


@pytest.mark.django_db
def test_readyz_names_the_worker_when_no_worker_runs(client, settings, not_eager):
    settings.READYZ_TASK_TIMEOUT = 0.5
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"] == "error: TimeoutError"
    assert body["checks"]["broker"] == "ok"
    assert "worker" not in body  # no node answered


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker_and_skips_the_worker(client):
    conf = celery_app.conf
    previous = conf.broker_url
    conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        conf.broker_url = previous
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"].startswith("error: OperationalError")
    assert body["checks"]["worker"] == "skipped"
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
    assert body["checks"]["worker"] == "skipped"


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
def test_readyz_hides_error_details_unless_debug(client, settings, not_eager):
    settings.READYZ_TASK_TIMEOUT = 0.2
    settings.DEBUG = False
    hidden = client.get("/readyz").json()["checks"]["worker"]
    settings.DEBUG = True
    shown = client.get("/readyz").json()["checks"]["worker"]
    assert hidden == "error: TimeoutError"
    assert shown == "error: TimeoutError: no worker ran the ping task within 0.2s"
