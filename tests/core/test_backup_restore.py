"""Backups: ops/backup.sh dumps the database, ops/restore.sh restores it into a fresh database
and checks it (migrations complete, ledger balanced) - the steps docs/operations.md gives."""

import subprocess
import sys
import uuid

import pytest
from django.db import connection

from tests.core.django_process import BASE_DIR, clean_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
LOSE_A_LEDGER_ROW = (
    "delete from payments_ledgerentry where id = (select max(id) from payments_ledgerentry)"
)


def server_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"


def psql(url: str, sql: str) -> str:
    result = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def paid_out_books(settings):
    """A funded assignment whose milestone was paid out: rows in every money table."""

    from payments import services
    from payments.models import LedgerEntry, Payout
    from tests.payments.factories import AssignmentFactory, employer_of
    from tests.payments.helpers import approve, pay_with_test_provider, ready_account

    settings.STRIPE_SECRET_KEY = ""
    assignment = AssignmentFactory(amount=30000, milestones=[30000])
    funding = services.funding_start(assignment=assignment, actor=employer_of(assignment))
    pay_with_test_provider(funding)
    ready_account(assignment.student)
    approve(assignment.milestones.get())
    services.payments_sweep()
    assert Payout.objects.get().status == Payout.Status.PAID
    return LedgerEntry.objects.count()


@pytest.fixture
def restored_url():
    url = f"{server_url()}/restore_{uuid.uuid4().hex[:10]}"
    yield url
    name = url.rsplit("/", 1)[1]
    psql(f"{server_url()}/postgres", f'drop database if exists "{name}" with (force)')


def test_a_backup_restores_into_a_fresh_database_with_balanced_books(
    paid_out_books, restored_url, tmp_path
):
    source = f"{server_url()}/{connection.settings_dict['NAME']}"
    dump = tmp_path / "marketplace.dump"
    backup = subprocess.run(
        ["bash", "ops/backup.sh", source, str(dump)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert backup.returncode == 0, backup.stderr
    assert dump.stat().st_size > 0

    env = {**clean_env(tmp_path), "PYTHON": sys.executable}
    restore = subprocess.run(
        ["bash", "ops/restore.sh", str(dump), restored_url],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "The ledger balances." in restore.stdout
    assert psql(restored_url, "select count(*) from payments_ledgerentry") == str(paid_out_books)
    assert psql(restored_url, "select status from payments_payout") == "paid"

    # The check means something on the restored copy: a lost ledger row is found.
    psql(restored_url, LOSE_A_LEDGER_ROW)
    check = subprocess.run(
        [sys.executable, "manage.py", "ledger_check"],
        cwd=BASE_DIR,
        env={**env, "DATABASE_URL": restored_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 1
    assert "ledger:" in check.stderr


def test_restore_refuses_an_existing_database(paid_out_books, tmp_path):
    """Restoring over live data would mix two states: the target must be new."""
    existing = f"{server_url()}/{connection.settings_dict['NAME']}"
    env = {**clean_env(tmp_path), "PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", "ops/restore.sh", str(tmp_path / "none.dump"), existing],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "already exists" in result.stderr
