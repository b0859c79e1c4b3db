"""Logs and metrics an operator can use: request ids on every line and carried into tasks, JSON
lines in production, and /metrics for requests, tasks, queues and the business, behind a token
or an allowed network."""

import io
import json
import logging
import time

import pytest
from django.urls import reverse

from marketplace.core.logs import ContextFilter, JsonFormatter
from tests.factories import PostingFactory


@pytest.fixture
def json_lines():
    """Every log line of this process, as the production handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_the_request_id_is_taken_from_the_proxy_or_made_and_answered(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21-request")
    assert given["X-Request-ID"] == "lb-7f3a9c21-request"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nforged: line")
    assert made["X-Request-ID"] != "bad id\nforged: line"
    assert len(made["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_log_lines_of_a_request_carry_its_id_and_the_user(client, json_lines):
    from tests.factories import StudentFactory

    student = StudentFactory()
    client.force_login(student)
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-0123456789")  # Django logs the 404
    lines = [line for line in json_lines() if line.get("request_id") == "req-0123456789"]
    assert lines, json_lines()
    assert lines[0]["user_id"] == str(student.pk)
    assert lines[0]["level"] == "WARNING" and "Not Found" in lines[0]["message"]


def test_log_format_json_writes_one_object_per_line(run_django):
    result = run_django(
        code="import logging\nlogging.getLogger('marketplace.check').warning('ready %s', 42)\n",
        env={"LOG_FORMAT": "json"},
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["logger"] == "marketplace.check"
    assert line["message"] == "ready 42"
    assert line["level"] == "WARNING"


@pytest.mark.celery_worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_by_a_request_logs_with_that_requests_id(
    client, running_worker, json_lines
):
    from applications.models import Application
    from notifications.models import Notification
    from tests.applications.factories import COVER_NOTE, employer_of
    from tests.factories import StudentFactory

    posting = PostingFactory()
    owner = employer_of(posting)
    client.force_login(StudentFactory())
    response = client.post(
        reverse("applications:apply", args=[posting.pk]),
        {"cover_note": COVER_NOTE, "portfolio_links": "https://github.com/ana"},
        HTTP_X_REQUEST_ID="apply-req-42424242",
    )
    assert response.status_code == 302
    assert Application.objects.filter(posting=posting).exists()
    deadline = time.monotonic() + 20
    done = []
    while time.monotonic() < deadline and not done:
        done = [
            line
            for line in json_lines()
            if line.get("task_id") and line["message"] == "task notifications.send_emails started"
        ]
        time.sleep(0.2)
    assert done, json.dumps([x for x in json_lines() if "started" in x["message"]])
    assert done[0]["request_id"] == "apply-req-42424242"
    assert Notification.objects.get(recipient=owner).email_status != "pending"


# --- /metrics -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_refused_outside_the_allowed_networks_without_the_token(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    with_token = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert with_token.status_code == 200


@pytest.mark.django_db
def test_metrics_show_requests_tasks_queues_and_the_business(client, settings):
    from marketplace.core.tasks import outbox_flush

    settings.METRICS_BUSINESS_SECONDS = 0
    PostingFactory()
    PostingFactory()
    assert client.get(reverse("postings:list")).status_code == 200
    outbox_flush.delay()  # runs in-process here; counted like on a worker
    outbox_flush.delay()
    body = client.get("/metrics").content.decode()
    assert 'view="postings:list"' in body and "django_http_requests_total_by_view" in body
    assert 'celery_tasks_total{state="SUCCESS",task="core.outbox_flush"} 2.0' in body
    assert 'celery_task_duration_seconds_count{task="core.outbox_flush"} 2.0' in body
    assert "# TYPE celery_queue_length gauge" in body
    if settings.REDIS_URL:
        assert 'celery_queue_length{queue="payments"}' in body
    assert 'marketplace_postings{status="published"} 2.0' in body
    assert "# TYPE marketplace_money_held_minor_units gauge" in body


_COUNTED_ELSEWHERE = """
from django.core.cache import cache
from django.test import RequestFactory
from marketplace.celery import app
from marketplace.core.metrics import metrics_view
assert "payments.release_payout" not in app.tasks  # this process imported no payments task
cache.set("metrics:task:payments.release_payout:SUCCESS", 3, None)
print(metrics_view(RequestFactory().get("/metrics")).content.decode())
"""


def test_metrics_count_tasks_that_this_process_never_imported(run_django):
    """A web node that never enqueued a payments task still shows the counts the workers kept."""
    result = run_django(code=_COUNTED_ELSEWHERE)
    assert result.returncode == 0, result.stderr
    assert 'celery_tasks_total{state="SUCCESS",task="payments.release_payout"} 3.0' in (
        result.stdout
    )
