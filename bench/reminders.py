"""Benchmark: the reminder sweep's cost against the number of future reminders, and e-mails sent
per second by one Celery worker on Redis. Needs PostgreSQL and Redis.

    .venv/bin/python bench/reminders.py [--future 1000000] [--small 10000] [--due 1000]
                                        [--emails 5000] [--repeat 5]

It creates its own database (``bench_reminders``, dropped at the end) on the server of
``BENCH_DATABASE_SERVER`` (default ``postgres://postgres@127.0.0.1:5432``) and uses
``REDIS_URL`` (default ``redis://127.0.0.1:6379/6``) as the broker; its queue is purged.

1. The sweep: ``reminders_send_due()`` over 1,000 due reminders, once with 10,000 and once with
   1,000,000 reminders waiting in the future (rows made with ``generate_series``). Each run is
   timed in full: locking the due rows, writing 1,000 notifications, marking the reminders
   sent and enqueueing 1,000 e-mail tasks to Redis on commit. The median of ``--repeat`` runs of
   each is compared (goal: ratio <= 1.2). The plan of the sweep's query is printed.
2. Throughput: ``--emails`` notification e-mail tasks are enqueued to Redis, then one worker
   (``celery worker --pool=solo``: one process, one task at a time, the production settings:
   ``acks_late``, prefetch 1) drains them; e-mail goes to Django's in-memory backend, so the
   figure is our work (lock the row, check preferences, render text and HTML, build the MIME
   message, mark sent) plus Celery's and Redis's, without an SMTP server's latency. The rate is
   taken between the first and the last e-mail sent, so the worker's start-up is not counted;
   the same is then done with ``--concurrency 2`` prefork processes (this machine's cores).

It writes its tables into ``docs/benchmarks.md`` (between its markers).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.docs import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_reminders"
SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6")
USERS = 100
WORKER_ENV = {}

ENV = {
    "DATABASE_URL": f"{SERVER}/{DB_NAME}",
    "REDIS_URL": REDIS_URL,
    "DJANGO_SETTINGS_MODULE": "marketplace.settings",
    "DJANGO_DEBUG": "false",  # no query log in memory
    "DJANGO_TESTING": "false",
    "LOG_LEVEL": "WARNING",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "DATABASE_CONN_MAX_AGE": "600",
}


def admin_execute(sql: str) -> None:
    conn = psycopg2.connect(f"{SERVER}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


def setup_django() -> None:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_users() -> int:
    from accounts.models import User

    User.objects.bulk_create(
        [User(email=f"bench{i}@example.com", full_name=f"Bench {i}") for i in range(USERS)]
    )
    return User.objects.order_by("pk").values_list("pk", flat=True).first()


def sql(statement: str, params=None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def insert_reminders(*, prefix: str, count: int, first_user: int, due: bool) -> None:
    # Future: spread over the next year. Due: in the last hour, deadline tomorrow.
    send_at = (
        "now() - (g %% 3600) * interval '1 second'"
        if due
        else "now() + interval '1 hour' + (g %% 31536000) * interval '1 second'"
    )
    sql(
        f"""
        INSERT INTO notifications_reminder
            (key, recipient_id, kind, title, body, link, send_at, expires_at, created_at)
        SELECT %s || g, %s + (g %% {USERS}), 'reminder.milestone_due',
               'Milestone “Report” is due in 48 hours', 'Submit it before the deadline.',
               '/notifications/', {send_at}, {send_at} + interval '2 days', now()
        FROM generate_series(1, %s) AS g
        """,
        [prefix, first_user, count],
    )


def reset_due(*, due: int, first_user: int, run: int) -> None:
    sql("DELETE FROM notifications_notification")
    insert_reminders(prefix=f"due{run}:", count=due, first_user=first_user, due=True)


def purge_queue() -> None:
    from marketplace.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


def timed_sweep(*, due: int) -> float:
    from notifications.services import reminders_send_due

    started = time.perf_counter()
    sent = reminders_send_due()
    elapsed = time.perf_counter() - started
    assert sent == due, (sent, due)
    purge_queue()
    return elapsed


def explain_sweep() -> str:
    from django.db import connection, transaction
    from django.utils import timezone

    from notifications.models import Reminder

    query = (
        Reminder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(sent_at__isnull=True, cancelled_at__isnull=True, send_at__lte=timezone.now())
        .prefetch_related("recipient")
        .order_by("send_at")[:200]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        statement, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
        plan = "\n".join("    " + row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def bench_sweep(*, future: int, due: int, repeat: int, first_user: int) -> tuple[float, str]:
    """The median time of a sweep of ``due`` reminders with ``future`` waiting, and its plan."""
    sql("TRUNCATE notifications_reminder, notifications_notification")
    started = time.perf_counter()
    insert_reminders(prefix="future:", count=future, first_user=first_user, due=False)
    sql("VACUUM ANALYZE notifications_reminder")
    print(f"  {future:>9,} future reminders inserted in {time.perf_counter() - started:.1f} s")
    times = []
    plan = ""
    for run in range(repeat):
        reset_due(due=due, first_user=first_user, run=run)
        if run == 0:
            plan = explain_sweep()
            print("  plan of the sweep's query (first batch of 200):")
            print(plan)
        times.append(timed_sweep(due=due))
    median = statistics.median(times)
    runs = ", ".join(f"{t:.3f}" for t in times)
    print(f"  sweep of {due:,} due with {future:>9,} future: median {median:.3f} s ({runs})")
    return median, plan


def bench_worker(
    *, emails: int, first_user: int, concurrency: int, batch: int
) -> tuple[float, float]:
    """Enqueue the e-mails of ``emails`` notifications in tasks of ``batch`` ids, then time one
    worker draining the queue."""
    from django.db import connection

    from marketplace.celery import app
    from notifications.models import Notification
    from notifications.tasks import send_notification_emails

    sql("TRUNCATE notifications_notification")
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=first_user + i % USERS,
                kind="offer.made",
                title=f"You received an offer ({i})",
                body="Acme Ltd offers you the work. Answer within 3 days.",
                link="/notifications/",
                dedupe_key=f"bench:{i}",
            )
            for i in range(emails)
        ],
        batch_size=2000,
    )
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    purge_queue()
    app.conf.task_always_eager = False
    with app.producer_or_acquire() as producer:
        for start in range(0, len(ids), batch):
            send_notification_emails.apply_async((ids[start : start + batch],), producer=producer)
    connection.close()
    pool = (
        ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"--concurrency={concurrency}"]
    )
    worker = subprocess.Popen(  # noqa: S603
        [str(ROOT / ".venv/bin/celery"), "-A", "marketplace", "worker", *pool, "--loglevel=WARNING"]
        + ["--without-heartbeat", "--without-gossip", "--without-mingle"]
        + os.environ.get("BENCH_WORKER_ARGS", "").split(),
        cwd=ROOT,
        env={**os.environ, **ENV, **WORKER_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    try:
        deadline = started + 300
        while time.perf_counter() < deadline:
            sent = Notification.objects.filter(email_status="sent").count()
            if sent == emails:
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    sent = Notification.objects.filter(email_status="sent")
    assert sent.count() == emails, f"only {sent.count()} of {emails} sent"
    first = sent.order_by("emailed_at").values_list("emailed_at", flat=True).first()
    last = sent.order_by("-emailed_at").values_list("emailed_at", flat=True).first()
    # ``emailed_at`` is stamped per batch: between the first stamp and the last, all batches but
    # the first were sent.
    rate = (emails - batch) / (last - first).total_seconds()
    return rate, wall


def report_text(report: dict, small_plan: str, large_plan: str, results, pg_version) -> str:
    """The section of docs/benchmarks.md this run writes (its own figures only)."""
    args, load = report["args"], os.getloadavg()
    met = "yes" if report["ratio"] <= 1.2 else "**no**"
    lines = [
        f"Measured {time.strftime('%d %b %Y %H:%M', time.gmtime())} UTC by `bench/reminders.py`"
        f" on PostgreSQL {pg_version // 10000}, {os.cpu_count()} cores, load average at the end"
        f" {load[0]:.1f}; median of {args.repeat} sweeps each.",
        "",
        f"| sweep of {args.due:,} due reminders | {args.small:,} future | {args.future:,} future"
        " | ratio | goal | met |",
        "|---|---:|---:|---:|---|---|",
        f"| seconds | {report['small']:.3f} | {report['large']:.3f} | {report['ratio']:.2f}"
        f" | <= 1.2 | {met} |",
        "",
        f"The plan of the sweep's query with {args.future:,} future reminders (with"
        f" {args.small:,}: {_execution(small_plan)}):",
        "",
        "```",
        large_plan,
        "```",
        "",
        "| e-mails enqueued | e-mails/s | goal | met |",
        "|---|---:|---|---|",
    ]
    for label, rate in results:
        lines.append(f"| {label} | {rate:,.0f} | >= 500/s | {'yes' if rate >= 500 else '**no**'} |")
    return "\n".join(lines)


def _execution(plan: str) -> str:
    found = [line.strip() for line in plan.splitlines() if "Execution Time" in line]
    return found[0] if found else "no plan"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--future", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--emails", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin_execute(f"CREATE DATABASE {DB_NAME}")
    try:
        setup_django()
        from django.db import connection

        first_user = make_users()
        print(f"PostgreSQL {connection.pg_version}, Redis {REDIS_URL}, database {DB_NAME}")
        # Warm up (imports, templates, connections) so that neither measured case pays for it.
        insert_reminders(prefix="warm:", count=50, first_user=first_user, due=True)
        timed_sweep(due=50)

        print("\n1. Reminder sweep: cost against the number of future reminders")
        small, small_plan = bench_sweep(
            future=args.small, due=args.due, repeat=args.repeat, first_user=first_user
        )
        large, large_plan = bench_sweep(
            future=args.future, due=args.due, repeat=args.repeat, first_user=first_user
        )
        ratio = large / small
        verdict = "meets" if ratio <= 1.2 else "MISSES"
        print(
            f"  ratio {args.future:,} / {args.small:,} future: {ratio:.2f} "
            f"({verdict} the goal <= 1.2)"
        )

        print("\n2. Notification e-mails sent per second by one worker on Redis")
        cases = [
            (
                "batches of 100 (sweeps, notify_many, many in a transaction), solo pool: 1 process",
                100,
                1,
                args.emails,
            ),
            ("batches of 100, prefork: 2 processes", 100, 2, args.emails),
            (
                "one e-mail per task (a transaction notifying one person), solo pool",
                1,
                1,
                args.emails // 5,
            ),
        ]
        results = []
        for label, batch, concurrency, count in cases:
            rate, wall = bench_worker(
                emails=count, first_user=first_user, concurrency=concurrency, batch=batch
            )
            results.append((label, rate))
            verdict = "meets" if rate >= 500 else "below"
            print(
                f"  {label}: {rate:,.0f} e-mails/s ({count:,} e-mails, {wall:.1f} s wall clock "
                f"incl. start-up; {verdict} the goal >= 500/s)"
            )
        print("\nSummary")
        print(
            f"  sweep of {args.due:,} due: {small:.3f} s with {args.small:,} future, "
            f"{large:.3f} s with {args.future:,} future, ratio {ratio:.2f}"
        )
        for label, rate in results:
            print(f"  {label}: {rate:,.0f} e-mails/s")
        report = {"args": args, "small": small, "large": large, "ratio": ratio}
        text = report_text(report, small_plan, large_plan, results, connection.pg_version)
        write_section("reminders.py", text)
        print("\nWritten into docs/benchmarks.md.")
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110  (Django may not be set up yet)
            pass
        admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
