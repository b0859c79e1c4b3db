"""Degrade, never fail: with Redis down the pages render without the cache and a write's tasks
wait in the outbox until the broker is back; with PostgreSQL down every page is a quick 503,
and anonymous pages already in the cache are still served from it."""

import json
import logging
import time

import pytest
from django.core.cache import caches
from django.db import transaction
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from applications.models import Application
from applications.tasks import close_for_posting
from marketplace.celery import app as celery_app
from marketplace.core.models import OutboxMessage
from marketplace.core.outbox import outbox_flush
from postings.tasks import close_due
from tests.applications.factories import ApplicationFactory
from tests.factories import CreditPostingFactory, PostingFactory

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: a Redis that is down
TOLERANT_CLOSED = {
    "default": {
        "BACKEND": "marketplace.core.cache.TolerantRedisCache",
        "LOCATION": CLOSED,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def use_broker(url: str) -> None:
    """Point the Celery app at ``url``, dropping the pooled connections to the old one."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker_down(not_eager):
    previous = celery_app.conf.broker_url
    use_broker(CLOSED)
    yield
    use_broker(previous)


@pytest.fixture
def cache_down(settings):
    from marketplace.core import cache as tolerant

    settings.CACHES = TOLERANT_CLOSED
    settings.CACHE_DOWN_RETRY_SECONDS = 30
    tolerant._down_until.clear()  # no outage remembered from an earlier test
    yield caches["default"]
    tolerant._down_until.clear()


# --- The cache ----------------------------------------------------------------------------------


def test_a_cache_that_is_down_misses_and_drops_writes_logging_once(cache_down, caplog):
    cache = cache_down
    with caplog.at_level(logging.WARNING, logger="marketplace.core.cache"):
        assert cache.get("k", "fallback") == "fallback"
        cache.set("k", "v")
        assert cache.add("k", "v") is False
        assert cache.get_many(["a", "b"]) == {}
        with pytest.raises(ValueError):
            cache.incr("counter")
    # One failure, then the process stops asking Redis for CACHE_DOWN_RETRY_SECONDS.
    warnings = [r for r in caplog.records if r.name == "marketplace.core.cache"]
    assert len(warnings) == 1
    assert "cache unavailable" in warnings[0].getMessage()
    # The health check's ping always asks, and says so.
    with pytest.raises(RedisConnectionError):
        cache.ping()


@pytest.mark.django_db
def test_postings_list_and_api_answer_200_with_the_cache_down(client, cache_down, settings):
    settings.POSTINGS_PAGE_CACHE_SECONDS = 60  # the page cache is on, and cannot be reached
    posting = PostingFactory(title="Survey analysis for a food bank")
    page = client.get(reverse("postings:list"))
    assert page.status_code == 200
    assert posting.title in page.content.decode()
    api = client.get("/api/v1/postings/", HTTP_ACCEPT="application/json")
    assert api.status_code == 200
    assert [p["title"] for p in api.json()["results"]] == [posting.title]
    detail = client.get(reverse("postings:detail", args=[posting.pk]))
    assert detail.status_code == 200


# --- The broker ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_task_the_broker_refuses_after_commit_is_kept_then_sent(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    posting = CreditPostingFactory(
        openings=1, seats_filled=1, status="closed", close_reason="filled"
    )
    waiting = ApplicationFactory(posting=posting)
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="marketplace.core.outbox"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        close_for_posting.delay_on_commit(posting.pk)
    assert time.monotonic() - started < 3  # the request does not wait long for Redis
    kept = OutboxMessage.objects.get()
    assert (kept.task, kept.args) == ("applications.close_for_posting", [posting.pk])
    assert "kept in the outbox" in caplog.text
    assert Application.objects.get(pk=waiting.pk).status == "submitted"

    # The broker still down: the flush keeps the message and counts the attempt.
    assert outbox_flush() == 0
    assert OutboxMessage.objects.get().attempts == 1

    # The broker back (tasks run in-process here): the kept message is sent and runs once.
    celery_app.conf.task_always_eager = True
    assert outbox_flush() == 1
    assert not OutboxMessage.objects.exists()
    assert Application.objects.get(pk=waiting.pk).status == "rejected"


@pytest.mark.django_db
def test_a_periodic_sweep_the_broker_refuses_is_not_kept(broker_down, caplog):
    with caplog.at_level(logging.WARNING, logger="marketplace.core.outbox"):
        assert close_due.delay() is None
    assert not OutboxMessage.objects.exists()  # beat sends it again on its next tick
    assert "postings.close_due not sent" in caplog.text


# --- PostgreSQL ---------------------------------------------------------------------------------

_REQUESTS = """
import json, time
from django.test import Client
client = Client(raise_request_exception=False)
def fetch(path, **headers):
    started = time.monotonic()
    r = client.get(path, **headers)
    return {"status": r.status_code, "type": r["Content-Type"], "body": r.content.decode(),
            "cache": r.get("X-Cache", ""), "seconds": time.monotonic() - started}
"""


def test_with_postgresql_unreachable_pages_answer_a_quick_503(run_django):
    code = _REQUESTS + (
        "print(json.dumps({p: fetch(p, HTTP_ACCEPT=a) for p, a in ["
        "('/postings/', 'text/html'), ('/postings/1/', 'text/html'),"
        "('/accounts/login/', 'text/html'),"
        "('/api/v1/postings/', 'application/json'), ('/healthz', '*/*')]}))"
    )
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:1/down", "DJANGO_DEBUG": "false"}
    result = run_django(code=code, env=env)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    for path in ("/postings/", "/postings/1/", "/accounts/login/"):
        assert answers[path]["status"] == 503, (path, answers[path])
        assert "The site is briefly unavailable" in answers[path]["body"]
        assert answers[path]["seconds"] < 3
    api = answers["/api/v1/postings/"]
    assert api["status"] == 503
    assert json.loads(api["body"])["code"] == "unavailable"
    assert answers["/healthz"]["status"] == 200  # the process itself is alive


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_postgresql_gone_cached_anonymous_pages_are_still_served(run_django):
    from django.db import connection

    PostingFactory(title="Logo refresh for a bike repair co-op")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}"
    code = _REQUESTS + (
        "from django.db import connections\n"
        "before = fetch('/postings/')\n"
        "connections['default'].close()\n"
        "connections['default'].settings_dict['PORT'] = '1'\n"  # PostgreSQL is gone
        "after = fetch('/postings/')\n"
        "other = fetch('/postings/?q=logo')\n"
        "print(json.dumps({'before': before, 'after': after, 'other': other}))"
    )
    env = {
        "DATABASE_URL": f"{url}/{db['NAME']}",
        "DJANGO_DEBUG": "false",
        "POSTINGS_PAGE_CACHE_SECONDS": "60",
    }
    result = run_django(code=code, env=env)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["before"]["status"] == 200
    assert "Logo refresh for a bike repair co-op" in answers["before"]["body"]
    assert answers["after"]["status"] == 200
    assert answers["after"]["cache"] == "hit"
    assert answers["after"]["body"] == answers["before"]["body"]
    assert answers["other"]["status"] == 503  # not in the cache: the database is needed


# --- The whole outage: a student and an employer at work while Redis is down --------------------


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def worker_thread():
    """Starts a real worker on the broker of the moment (call it once Redis is back)."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    def close_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_connections, weak=False, dispatch_uid="degraded-close-db")
    stack = []

    def start():
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(celery_app.conf.task_default_queue)
        context = start_worker(
            celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30
        )
        context.__enter__()
        stack.append(context)

    yield start
    for context in stack:
        context.__exit__(None, None, None)
    task_postrun.disconnect(dispatch_uid="degraded-close-db")


@pytest.mark.celery_worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_redis_down_while_students_browse_apply_and_employers_approve(
    client, settings, not_eager, worker_thread
):
    from django.core import mail
    from django.test import Client

    from applications.models import Milestone
    from notifications.models import Notification
    from payments import services as payments
    from payments.models import Payout
    from tests.applications.factories import COVER_NOTE, employer_of, submit
    from tests.factories import StudentFactory
    from tests.payments.factories import AssignmentFactory
    from tests.payments.helpers import pay_with_test_provider, ready_account

    # Before the outage (tasks in-process): a funded assignment, its work submitted.
    celery_app.conf.task_always_eager = True  # not_eager puts it back after the test
    settings.STRIPE_SECRET_KEY = ""
    assignment = AssignmentFactory(amount=20000, milestones=[20000])
    employer = employer_of(assignment.posting)
    pay_with_test_provider(payments.funding_start(assignment=assignment, actor=employer))
    ready_account(assignment.student)
    milestone = assignment.milestones.get()
    submit(milestone)
    posting = PostingFactory(title="Volunteer rota spreadsheet")
    posting_owner = employer_of(posting)
    applicant = StudentFactory()
    notified_before = set(Notification.objects.values_list("pk", flat=True))
    mail.outbox.clear()

    # Redis stops: the cache and the broker are a closed port.
    from marketplace.core import cache as tolerant

    previous_broker, previous_caches = celery_app.conf.broker_url, settings.CACHES
    celery_app.conf.task_always_eager = False
    use_broker(CLOSED)
    settings.CACHES = TOLERANT_CLOSED
    settings.POSTINGS_PAGE_CACHE_SECONDS = 60
    try:
        anonymous = Client()
        for url in (reverse("postings:list"), reverse("postings:detail", args=[posting.pk])):
            assert anonymous.get(url).status_code == 200, url
        assert anonymous.get("/api/v1/postings/").status_code == 200
        ready = anonymous.get("/readyz").json()
        assert {"cache", "broker"} <= set(ready["failing"])

        client.force_login(applicant)
        applied = client.post(
            reverse("applications:apply", args=[posting.pk]),
            {"cover_note": COVER_NOTE, "portfolio_links": "https://github.com/ana"},
        )
        application = Application.objects.get(student=applicant, posting=posting)
        assert applied.status_code == 302
        assert client.get(applied["Location"]).status_code == 200

        client.force_login(employer)
        approved = client.post(
            reverse("applications:milestone_move", args=[milestone.pk, "approve"])
        )
        assert approved.status_code == 302
        assert client.get(approved["Location"]).status_code == 200
        assert Milestone.objects.get(pk=milestone.pk).status == Milestone.Status.APPROVED
        assert OutboxMessage.objects.exists()
        assert not Payout.objects.filter(status=Payout.Status.PAID).exists()
        assert mail.outbox == []
    finally:
        use_broker(previous_broker)
        settings.CACHES = previous_caches
        tolerant._down_until.clear()

    # Redis is back: beat's next flush sends what was kept; the worker runs it.
    worker_thread()
    from marketplace.core.tasks import outbox_flush as outbox_flush_task

    outbox_flush_task.delay()
    assert wait_for(lambda: not OutboxMessage.objects.exists())
    assert wait_for(lambda: Payout.objects.filter(status=Payout.Status.PAID).count() == 1)
    assert wait_for(lambda: Milestone.objects.get(pk=milestone.pk).status == "paid")
    made = Notification.objects.exclude(pk__in=notified_before)
    assert made.filter(recipient=posting_owner, kind="application.received").exists()
    assert wait_for(lambda: not made.filter(email_status="pending").exists())
    recipients = {address for message in mail.outbox for address in message.to}
    assert {posting_owner.email, assignment.student.email} <= recipients
    assert Application.objects.get(pk=application.pk).status == "submitted"
