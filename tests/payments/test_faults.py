"""Faults: a worker dying mid-release, two workers at once, the provider down for a while, and
200 releases by a real Celery worker on Redis. Each ends with exactly one transfer per payout
and a clean ledger."""

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from payments import services
from payments.admin import PayoutAdmin
from payments.models import Payout

from .helpers import approve, assert_ledger_clean
from .helpers import fund_through_stripe as funded_assignment


class WorkerDied(Exception):
    pass


@pytest.mark.django_db
def test_a_release_that_dies_after_the_provider_call_is_recorded_once_on_re_run(
    stripe_api, monkeypatch, django_capture_on_commit_callbacks
):
    assignment = funded_assignment(stripe_api)
    milestone = approve(assignment.milestones.get())
    with django_capture_on_commit_callbacks(execute=False):
        payout = services.payout_create(milestone=milestone)

    real_record = services.payout_record_transfer

    def die(**kwargs):
        raise WorkerDied("the worker was killed after the transfer was created")

    monkeypatch.setattr(services.payouts, "payout_record_transfer", die)
    with pytest.raises(WorkerDied):
        services.payout_release(payout_id=payout.pk)
    monkeypatch.setattr(services.payouts, "payout_record_transfer", real_record)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PROCESSING and payout.transfer_id is None
    assert len(stripe_api.state.transfers) == 1
    (created,) = stripe_api.state.transfers

    # A redelivery while the lease runs does nothing (it could be a live worker).
    services.payout_release(payout_id=payout.pk)
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 1

    # After the lease the sweep runs it again: the second attempt finds the first one's
    # transfer (by transfer group and metadata) and records it; it creates nothing.
    with (
        time_machine.travel(timezone.now() + dt.timedelta(minutes=11)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.payments_sweep().payouts_enqueued == 1
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.transfer_id == created
    (call,) = stripe_api.calls("POST", "/v1/transfers")
    assert call.idempotency_key == f"test:payout:{payout.pk}:1"
    (listing,) = stripe_api.calls("GET", "/v1/transfers")
    assert listing.params["transfer_group"] == f"assignment_{assignment.pk}"
    assert len(stripe_api.state.transfers) == 1
    assert_ledger_clean()


@pytest.mark.django_db
def test_after_24_hours_a_retry_looks_for_the_transfer_before_creating(
    stripe_api, monkeypatch, django_capture_on_commit_callbacks
):
    assignment = funded_assignment(stripe_api)
    milestone = approve(assignment.milestones.get())
    with django_capture_on_commit_callbacks(execute=False):
        payout = services.payout_create(milestone=milestone)
    monkeypatch.setattr(
        services.payouts, "payout_record_transfer", lambda **kw: (_ for _ in ()).throw(WorkerDied())
    )
    with pytest.raises(WorkerDied):
        services.payout_release(payout_id=payout.pk)
    monkeypatch.undo()
    stripe_api.forget_idempotency_keys()  # Stripe keeps keys for 24 hours

    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        services.payout_release(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(stripe_api.state.transfers) == 1
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 1  # no second create
    (listing,) = stripe_api.calls("GET", "/v1/transfers")
    assert listing.params["transfer_group"] == f"assignment_{assignment.pk}"
    assert_ledger_clean()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_releasing_the_same_milestone_at_once_make_one_transfer(stripe_api):
    assignment = funded_assignment(stripe_api)
    milestone = approve(assignment.milestones.get())
    stripe_api.slow("/v1/transfers", seconds=0.5, times=5)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            payout = services.milestone_release(milestone_id=milestone.pk)
            services.payout_release(payout_id=payout.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert Payout.objects.filter(milestone=milestone).count() == 1
    payout = Payout.objects.get(milestone=milestone)
    assert payout.status == Payout.Status.PAID
    assert len(stripe_api.state.transfers) == 1
    assert len(stripe_api.calls("POST", "/v1/transfers")) == 1
    assert_ledger_clean()


@pytest.mark.django_db
def test_while_the_provider_is_down_payouts_wait_and_are_all_paid_once_it_is_back(
    stripe_api, django_capture_on_commit_callbacks
):
    assignments = [funded_assignment(stripe_api, milestones=(10000, 20000)) for _ in range(2)]
    for assignment in assignments:
        for milestone in assignment.milestones.all():
            approve(milestone)
    stripe_api.down = True
    start = timezone.now()
    with (
        time_machine.travel(start, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.payments_sweep()
    payouts = list(Payout.objects.order_by("pk"))
    assert len(payouts) == 4
    assert {p.status for p in Payout.objects.all()} == {Payout.Status.PENDING}
    assert all(p.attempts == 1 for p in Payout.objects.all())
    # Backoff: nothing is due a few seconds later...
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        assert services.payments_sweep().payouts_enqueued == 0
    # ...the next attempt after a minute, still down: the wait doubles.
    with (
        time_machine.travel(start + dt.timedelta(seconds=61), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.payments_sweep().payouts_enqueued == 4
    assert all(p.attempts == 2 for p in Payout.objects.all())
    assert all(
        p.next_attempt_at == start + dt.timedelta(seconds=61 + 120) for p in Payout.objects.all()
    )
    stripe_api.down = False
    with (
        time_machine.travel(start + dt.timedelta(seconds=61 + 121), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.payments_sweep()
    assert {p.status for p in Payout.objects.all()} == {Payout.Status.PAID}
    assert len(stripe_api.state.transfers) == 4
    assert len({p.transfer_id for p in Payout.objects.all()}) == 4
    assert_ledger_clean()


@pytest.mark.django_db
def test_after_the_last_retry_a_payout_waits_for_staff_who_retry_it(
    stripe_api, settings, rf, django_capture_on_commit_callbacks
):
    from django.contrib.admin.sites import site

    from tests.factories import StaffFactory

    settings.PAYOUT_MAX_RETRIES = 2
    staff = StaffFactory()
    assignment = funded_assignment(stripe_api)
    approve(assignment.milestones.get())
    stripe_api.down = True
    with django_capture_on_commit_callbacks(execute=True):
        services.payments_sweep()
    payout = Payout.objects.get()
    services.payout_release(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED and payout.attempts == 2
    assert staff.notifications.filter(kind="payout.failed").exists()
    # The sweep leaves a failed payout alone.
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        assert services.payments_sweep().payouts_enqueued == 0

    stripe_api.down = False
    request = rf.post("/admin/payments/payout/")
    request.user = staff
    request._messages = _Messages()
    admin = PayoutAdmin(Payout, site)
    with django_capture_on_commit_callbacks(execute=True):
        admin.retry_payouts(request, Payout.objects.filter(pk=payout.pk))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(stripe_api.state.transfers) == 1
    assert_ledger_clean()


class _Messages:
    def __init__(self):
        self.messages = []

    def add(self, level, message, extra_tags=""):
        self.messages.append(message)


@pytest.fixture
def celery_worker_on_redis():
    """A real worker (solo pool, in a thread) on the Redis broker; tasks are not eager."""
    from celery.contrib.testing.worker import start_worker

    from marketplace.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield app
    finally:
        app.conf.task_always_eager = previous


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_200_approved_milestones_released_by_a_real_worker(stripe_api, request, capsys):
    assignments = [funded_assignment(stripe_api, milestones=tuple([1000] * 10)) for _ in range(20)]
    for assignment in assignments:
        for milestone in assignment.milestones.all():
            approve(milestone)
    request.getfixturevalue("celery_worker_on_redis")
    with transaction.atomic():
        result = services.payments_sweep()
    assert result.payouts_created == 200
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if Payout.objects.filter(status=Payout.Status.PAID).count() == 200:
            break
        time.sleep(0.5)
    assert Payout.objects.filter(status=Payout.Status.PAID).count() == 200
    assert len(stripe_api.state.transfers) == 200
    assert Payout.objects.values("transfer_id").distinct().count() == 200
    call_command("ledger_check")
    assert "The ledger balances." in capsys.readouterr().out
