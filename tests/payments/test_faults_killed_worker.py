"""100 payouts through a real Celery worker process on Redis while the Stripe stand-in fails 20%
of transfer calls with 500s (half of them after making the transfer) and 10% with
``balance_insufficient``, and the worker is killed (SIGKILL) twice mid-run. At the end every
payout is paid by exactly one transfer and the ledger balances.

The test plays beat (it runs the sweep every second); the worker is a separate process on
the test database, so killing it loses whatever it was doing, as a crash in production does.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection, transaction

from payments import services
from payments.models import Payout

from .conftest import WEBHOOK_SECRET
from .helpers import approve
from .test_faults import funded_assignment

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

MILESTONES = 100
KILL_AFTER_PAID = (25, 60)  # the worker is killed when this many payouts are paid
SETTINGS = {
    # Short waits, so that the whole run takes seconds: backoff from 1 s, a balance retry after
    # 1 s, a killed worker's "processing" payout run again after 4 s, a lost message after 15 s.
    "PAYOUT_RETRY_BASE_SECONDS": 1,
    "PAYOUT_BALANCE_RETRY_SECONDS": 1,
    "PAYOUT_PROCESSING_LEASE_SECONDS": 4,
    "PAYMENTS_CLAIM_SECONDS": 15,
    "PAYOUT_MAX_RETRIES": 100,
}


def _worker_env(stripe_api) -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({k: str(v) for k, v in SETTINGS.items()})
    env.update(
        DATABASE_URL=(
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        REDIS_URL=django_settings.REDIS_URL,
        DJANGO_TESTING="1",
        STRIPE_SECRET_KEY=stripe_api.secret_key,
        STRIPE_API_BASE=stripe_api.url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_TIMEOUT="2",
        STRIPE_NETWORK_RETRY_DELAY="0.01",
    )
    return env


def _start_worker(env) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=ERROR",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _paid() -> int:
    return Payout.objects.filter(status=Payout.Status.PAID).count()


def test_100_payouts_with_500s_short_balance_and_two_killed_workers_are_each_paid_once(
    stripe_api, settings, capsys
):
    from marketplace.celery import app

    for name, value in SETTINGS.items():
        setattr(settings, name, value)
    settings.PAYOUT_PROCESSING_LEASE = timedelta(
        seconds=SETTINGS["PAYOUT_PROCESSING_LEASE_SECONDS"]
    )
    assignments = [funded_assignment(stripe_api, milestones=(1000,) * 10) for _ in range(10)]
    for assignment in assignments:
        for milestone in assignment.milestones.all():
            approve(milestone)
    stripe_api.flaky(
        "/v1/transfers", server_errors=0.2, balance_insufficient=0.1, seed=9, latency=0.02
    )

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False  # this process only sends; the worker process runs them
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    env = _worker_env(stripe_api)
    worker = _start_worker(env)
    kills = []
    started = time.monotonic()
    try:
        deadline = started + 150
        while time.monotonic() < deadline:
            with transaction.atomic():
                services.payments_sweep()
            paid = _paid()
            if paid == MILESTONES:
                break
            if len(kills) < len(KILL_AFTER_PAID) and paid >= KILL_AFTER_PAID[len(kills)]:
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                processing = Payout.objects.filter(status=Payout.Status.PROCESSING).count()
                kills.append((paid, processing))
                worker = _start_worker(env)
            time.sleep(1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        app.conf.task_always_eager = previous
    elapsed = time.monotonic() - started

    assert len(kills) == 2
    assert _paid() == MILESTONES
    # Exactly one transfer per payout at the provider, and it is the one each payout records.
    per_payout = Counter(t["metadata"]["payout_id"] for t in stripe_api.state.transfers.values())
    assert len(per_payout) == MILESTONES and set(per_payout.values()) == {1}
    recorded = set(Payout.objects.values_list("transfer_id", flat=True))
    assert recorded == set(stripe_api.state.transfers)
    call_command("ledger_check")
    out = capsys.readouterr().out
    assert "The ledger balances." in out

    # The run's own table: what was injected and what it cost.
    creates = stripe_api.calls("POST", "/v1/transfers")
    lookups = stripe_api.calls("GET", "/v1/transfers")
    attempts = Counter(Payout.objects.values_list("attempt_serial", flat=True))
    with capsys.disabled():
        print(f"\n{MILESTONES} payouts, {elapsed:.1f} s")
        print(f"{'transfer creates (incl. library retries)':<44}{len(creates):>6}")
        print(f"{'lookups before a new attempt':<44}{len(lookups):>6}")
        for name in ("500", "500 created", "balance"):
            print(f"{'injected ' + name:<44}{stripe_api.injected.get(name, 0):>6}")
        for paid, processing in kills:
            print(f"{'worker killed at paid / processing':<44}{paid:>4} / {processing}")
        for n in sorted(attempts):
            print(f"{'payouts paid at attempt ' + str(n):<44}{attempts[n]:>6}")
    assert stripe_api.injected.get("500", 0) and stripe_api.injected.get("balance", 0)
    assert stripe_api.injected.get("500 created", 0)
