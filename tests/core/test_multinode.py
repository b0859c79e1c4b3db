"""Many machines, for real: two gunicorn web nodes (two workers each), a Celery worker on
`payments` and one on the rest, and beat, all as subprocesses on one PostgreSQL database, one
Redis and one S3 server (moto's server mode). The whole journey from posting to payout runs over
HTTP with every request going to the other node than the one before; a deliverable uploaded
through one node is downloaded through the other; the payments worker is killed (SIGKILL) and
started again mid-way and the payout is still paid. Then: with the workers stopped the web nodes
stay ready and the worker health check fails; /metrics shows requests (summed over a node's
gunicorn workers) and tasks; a worker's log line carries the id of the request that caused it."""

from __future__ import annotations

import concurrent.futures
import itertools
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from prometheus_client.mmap_dict import MmapedDict
from redis import Redis

from accounts.services import api_token_create
from tests.core.cluster import (
    START_WITHIN,
    Cluster,
    Service,
    purge_queues,
    wait_for,
    web_ready,
    worker_answers,
)
from tests.core.django_process import clean_env
from tests.factories import PASSWORD, EmployerUserFactory, StaffFactory, StudentFactory
from tests.postings.helpers import api_payload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

BUCKET = "multinode-files"
REPORT = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n% the final report\n"
COVER = "I analysed two survey data sets last term and would enjoy presenting this one."
TIMEOUT = 20  # seconds, for every HTTP request
TASKS_WITHIN = 60  # seconds for the workers to carry a step through


class Nodes:
    """Every request goes to the other node than the request before (whoever sends it)."""

    def __init__(self, bases: list[str]):
        self.bases = bases
        self._next = itertools.cycle(bases)

    def next(self) -> str:
        return next(self._next)


class Client:
    """One user over HTTP: API calls with a token, pages with a logged-in session."""

    def __init__(self, nodes: Nodes, user, token: str):
        self.nodes = nodes
        self.user = user
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Token {token}"
        self.browser = requests.Session()

    def call(self, method: str, path: str, expect: int = 200, **kwargs) -> dict:
        response = self.api.request(method, self.nodes.next() + path, timeout=TIMEOUT, **kwargs)
        assert response.status_code == expect, (method, path, response.text[:2000])
        return response.json() if response.content else {}

    def log_in(self) -> None:
        base = self.nodes.next()
        self.browser.get(f"{base}/accounts/login/", timeout=TIMEOUT)
        response = self.browser.post(
            f"{base}/accounts/login/",
            data={
                "login": self.user.email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.browser.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        assert response.status_code == 302, response.text[:2000]

    def press(self, url: str, **fields: str) -> requests.Response:
        """Open a page on one node and submit its form on the other (one shared session)."""
        path = urlsplit(url).path
        assert self.browser.get(self.nodes.next() + path, timeout=TIMEOUT).status_code == 200
        data = {"csrfmiddlewaretoken": self.browser.cookies["csrftoken"], **fields}
        return self.browser.post(
            self.nodes.next() + path, data=data, allow_redirects=False, timeout=TIMEOUT
        )


@pytest.fixture
def bucket(s3_server):
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])


@pytest.fixture
def cluster(tmp_path, s3_server, bucket):
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    env = clean_env(tmp_path)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=connection_redis_url(),
        CACHE_KEY_PREFIX=f"multinode-{uuid.uuid4().hex[:8]}",  # task counters start at zero
        DJANGO_DEBUG="false",
        LOG_FORMAT="json",
        METRICS_DATABASE="true",
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=s3_server,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="test-key",
        AWS_SECRET_ACCESS_KEY="test-secret",
        BEAT_HEARTBEAT_FILE=str(tmp_path / "beat.heartbeat"),
        STRIPE_SECRET_KEY="",
    )
    purge_queues()
    processes = Cluster(env, tmp_path)
    try:
        yield processes
    finally:
        left = processes.stop_all()
        purge_queues()
        redis = Redis.from_url(env["REDIS_URL"])
        for key in redis.scan_iter(f"{env['CACHE_KEY_PREFIX']}:*"):
            redis.delete(key)
    assert left == [], f"processes left running: {left}"


def connection_redis_url() -> str:
    from django.conf import settings

    return settings.REDIS_URL


def test_the_journey_runs_across_two_web_nodes_and_survives_a_killed_worker(
    cluster, bucket, settings
):
    settings.BEAT_HEARTBEAT_FILE = cluster.env["BEAT_HEARTBEAT_FILE"]
    suffix = uuid.uuid4().hex[:8]
    payments_node, rest_node = f"payments@multinode-{suffix}", f"default@multinode-{suffix}"
    (web_a, base_a), (_web_b, base_b) = cluster.web("web-a"), cluster.web("web-b")
    payments = cluster.worker(payments_node, "payments")
    rest = cluster.worker(rest_node, "email,sweeps,default")
    beat = cluster.beat()
    for service in cluster.services:
        service.start()
    for base in (base_a, base_b):
        wait_for(f"{base}/readyz", lambda b=base: web_ready(b), START_WITHIN)
    for node in (payments_node, rest_node):
        wait_for(f"worker {node}", lambda n=node: worker_answers(n), START_WITHIN)

    nodes = Nodes([base_a, base_b])
    employer, staff, student = (
        _client(nodes, factory()) for factory in (EmployerUserFactory, StaffFactory, StudentFactory)
    )
    milestone_id, apply_id = _hire(employer, staff, student)
    _fund(employer, student, milestone_id)
    deliverable = _deliver(student, milestone_id, nodes, bucket)
    _download_elsewhere(employer, deliverable, nodes)

    # The payments worker dies without a word; the approval's payout waits in its queue.
    payments.kill()
    approve_id = f"approve-{suffix}"
    employer.api.headers["X-Request-ID"] = approve_id
    employer.call("POST", f"/api/v1/milestones/{milestone_id}/approve/")
    del employer.api.headers["X-Request-ID"]
    assert [p["status"] for p in student.call("GET", "/api/v1/payments/payouts/")["results"]] in (
        [],
        ["pending"],
    )
    payments.start()
    wait_for("the payout", lambda: _payout_status(student) == "paid", START_WITHIN)

    _task_logs_carry_request_ids(payments, rest, approve_id, apply_id)
    _metrics_show_requests_and_tasks(base_a, base_b, web_a)
    _health_without_workers(nodes.bases, [payments, rest], [payments_node, rest_node], beat)


def _client(nodes: Nodes, user) -> Client:
    # The tests' own fast hasher is unknown to the servers: a password they can check.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save(update_fields=["password"])
    _token, key = api_token_create(user=user, actor=user, name="multi-node test")
    return Client(nodes, user, key)


def _hire(employer: Client, staff: Client, student: Client) -> tuple[int, str]:
    """Post, approve, apply, offer, accept: the milestone, and the id of the apply request."""
    payload = api_payload(
        amount=30000,
        milestones=[{"title": "Final report", "due_offset_hours": 336, "amount": 30000}],
        questions=[],
    )
    posting = employer.call("POST", "/api/v1/postings/", 201, json=payload)
    submitted = employer.call("POST", f"/api/v1/postings/{posting['id']}/submit/")
    assert submitted["status"] == "pending_review"
    approved = staff.call("POST", f"/api/v1/postings/{posting['id']}/approve/", json={})
    assert approved["status"] == "published"

    apply_id = f"apply-{uuid.uuid4().hex[:8]}"
    application = student.call(
        "POST",
        "/api/v1/applications/",
        201,
        json={"posting": posting["id"], "cover_note": COVER},
        headers={"X-Request-ID": apply_id},
    )
    offered = employer.call("POST", f"/api/v1/applications/{application['id']}/offer/", json={})
    assert offered["status"] == "offered"
    assignment = student.call("POST", f"/api/v1/applications/{application['id']}/accept/")
    assert assignment["status"] == "awaiting_funding"
    return assignment["milestones"][0]["id"], apply_id


def _fund(employer: Client, student: Client, milestone_id: int) -> None:
    """The employer pays through the test provider's checkout page; the student sets up the
    payout account on its onboarding page. Each page's event is handled by the payments worker."""
    assignment_id = employer.call("GET", f"/api/v1/milestones/{milestone_id}/")["assignment"]
    funding = employer.call(
        "POST", f"/api/v1/payments/assignments/{assignment_id}/funding/", 201, json={}
    )
    employer.log_in()
    assert employer.press(funding["checkout_url"], outcome="pay").status_code == 302
    wait_for(
        "the funding",
        lambda: (
            employer.call("GET", f"/api/v1/payments/fundings/{funding['id']}/")["status"] == "paid"
        ),
        TASKS_WITHIN,
    )
    assert employer.call("GET", f"/api/v1/assignments/{assignment_id}/")["status"] == "active"

    link = student.call(
        "POST", "/api/v1/payments/payout-account/onboarding-link/", 201, json={"country": "US"}
    )
    student.log_in()
    assert student.press(link["url"]).status_code == 302
    wait_for(
        "the payout account",
        lambda: student.call("GET", "/api/v1/payments/payout-account/")["status"] == "ready",
        TASKS_WITHIN,
    )


def _deliver(student: Client, milestone_id: int, nodes: Nodes, bucket) -> dict:
    before = nodes.bases.index(nodes.next())  # the upload goes to the other one
    submission = student.call(
        "POST",
        f"/api/v1/milestones/{milestone_id}/submit/",
        201,
        data={"note": "The report."},
        files=[("files", ("report.pdf", REPORT, "application/pdf"))],
    )
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("private/") and keys[0].endswith(".pdf")
    return {**submission["files"][0], "uploaded_to": nodes.bases[1 - before]}


def _download_elsewhere(employer: Client, deliverable: dict, nodes: Nodes) -> None:
    other = next(b for b in nodes.bases if b != deliverable["uploaded_to"])
    path = urlsplit(deliverable["download_url"]).path
    response = employer.api.get(other + path, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text[:2000]
    signed = requests.get(response.headers["Location"], timeout=TIMEOUT)
    assert signed.status_code == 200 and signed.content == REPORT


def _payout_status(student: Client) -> str | None:
    payouts = student.call("GET", "/api/v1/payments/payouts/")["results"]
    return payouts[0]["status"] if payouts else None


def _task_logs_carry_request_ids(payments: Service, rest: Service, approve_id, apply_id):
    def started(service: Service, request_id: str) -> list[dict]:
        return [
            line
            for line in service.json_lines()
            if line.get("request_id") == request_id
            and line.get("task_id")
            and line["message"].startswith("task ")
        ]

    approved = started(payments, approve_id)
    assert any("payments.milestone_approved started" in x["message"] for x in approved), (
        payments.output()[-4000:]
    )
    assert started(rest, apply_id), rest.output()[-4000:]


def _metrics(base: str) -> str:
    response = requests.get(f"{base}/metrics", timeout=TIMEOUT)
    assert response.status_code == 200
    return response.text


def _sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample, whatever the order of its labels (0 when missing)."""
    for line in body.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _metrics_show_requests_and_tasks(base_a: str, base_b: str, web_a: Service) -> None:
    by_view = "django_http_requests_total_by_view_transport_method_total"
    for base in (base_a, base_b):  # both nodes served the journey's API calls
        body = _metrics(base)
        assert (
            _sample(body, by_view, view="api-posting-list", method="POST")
            + _sample(body, by_view, view="api-posting-submit", method="POST")
            + _sample(body, by_view, view="api-payout-list", method="GET")
            > 0
        ), body[:3000]
    body = _metrics(base_a)
    tasks = [line for line in body.splitlines() if line.startswith("celery_tasks_total{")]
    for task in ("payments.handle_webhook_event", "payments.release_payout"):
        assert _sample(body, "celery_tasks_total", task=task, state="SUCCESS") >= 1, tasks
    assert _sample(body, "celery_task_duration_seconds_count", task="payments.release_payout")

    # Requests answered by either gunicorn worker of a node are summed in every scrape.
    count = 40
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: _favicon(base_a), range(count)))
    assert set(codes) == {200}
    per_process = _favicon_counts(web_a)
    assert sum(per_process.values()) == count and len(per_process) == 2, per_process
    for _scrape in range(4):
        scraped = _sample(_metrics(base_a), by_view, view="favicon", method="GET")
        assert scraped == count


def _favicon(base: str) -> int:
    return requests.get(f"{base}/favicon.ico", timeout=TIMEOUT).status_code


def _favicon_counts(web: Service) -> dict[str, float]:
    """What each gunicorn worker process wrote to the node's metrics folder."""
    folder = web.env["PROMETHEUS_MULTIPROC_DIR"]
    counts = {}
    for path in sorted(Path(folder).glob("counter_*.db")):
        table = MmapedDict(str(path), read_mode=True)
        try:
            for key, value, *_position in table.read_all_values():
                if "by_view_transport_method_total" in key and '"favicon"' in key:
                    counts[re.sub(r"\D", "", path.stem)] = value
        finally:
            table.close()
    return {pid: value for pid, value in counts.items() if value}


def _health_without_workers(bases, workers, names, beat: Service) -> None:
    """The health checks the containers run (the same commands, called here in-process)."""
    for name in names:
        call_command("worker_health", node=name, timeout=5)
    call_command("beat_health")  # beat is ticking: its heartbeat file is fresh
    for worker in workers:
        worker.stop()
    for base in bases:
        assert web_ready(base), base
    for name in names:
        with pytest.raises(CommandError, match=f"worker {name}: no answer within 3s"):
            call_command("worker_health", node=name, timeout=3)
    assert beat.running
