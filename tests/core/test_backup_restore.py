"""Backups: ops/backup.sh dumps the database, ops/restore.sh restores it into a fresh database
and checks it (migrations complete, ledger balanced); bucket_backup copies the bucket's files and
bucket_restore puts them into a new bucket, after which files_check finds every file the restored
database names - the steps docs/operations.md gives."""

import subprocess
import sys
import uuid

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
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


# --- The bucket -------------------------------------------------------------------------------

S3_CREDENTIALS = {
    "AWS_S3_REGION_NAME": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
}


def new_bucket(s3_server: str) -> tuple[str, object]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    name = f"files-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    return name, client


def keys(client, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


@pytest.fixture
def files_in_a_bucket(s3_server, settings):
    """A deliverable and a logo uploaded to a live bucket (the settings of a deployment)."""
    from tests.accounts.test_profile_and_organisation import png_bytes
    from tests.applications.factories import active_assignment, first_milestone, pdf
    from tests.applications.factories import submit as submit_work

    live, client = new_bucket(s3_server)
    for name, value in S3_CREDENTIALS.items():
        setattr(settings, name, value)
    settings.AWS_STORAGE_BUCKET_NAME = live
    settings.AWS_S3_ENDPOINT_URL = s3_server
    settings.STORAGES = {**settings.STORAGES, **settings.S3_STORAGES}
    assignment = active_assignment(credit=True)
    submit_work(first_milestone(assignment), files=[pdf("report.pdf", b"%PDF-1.4 the report")])
    employer = assignment.posting.employer
    employer.logo.save("logo.png", ContentFile(png_bytes()))
    assert len(keys(client, live)) == 2
    return live, client


def test_the_bucket_is_restored_with_the_database_and_every_file_is_found(
    files_in_a_bucket, restored_url, s3_server, tmp_path
):
    live, client = files_in_a_bucket
    dump, copy = tmp_path / "marketplace.dump", tmp_path / "files"
    source = f"{server_url()}/{connection.settings_dict['NAME']}"
    backup = subprocess.run(
        ["bash", "ops/backup.sh", source, str(dump)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert backup.returncode == 0, backup.stderr
    call_command("bucket_backup", str(copy))  # after the dump: every file it names is copied
    for key in keys(client, live):
        assert (copy / key).read_bytes() == client.get_object(Bucket=live, Key=key)["Body"].read()

    # The database and the bucket are lost: both come back in new ones.
    env = {**clean_env(tmp_path), "PYTHON": sys.executable, **S3_CREDENTIALS}
    restore = subprocess.run(
        ["bash", "ops/restore.sh", str(dump), restored_url],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restore.returncode == 0, restore.stdout + restore.stderr
    restored_bucket, _client = new_bucket(s3_server)
    env.update(
        DATABASE_URL=restored_url,
        AWS_STORAGE_BUCKET_NAME=restored_bucket,
        AWS_S3_ENDPOINT_URL=s3_server,
    )

    def manage(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True)

    missing = manage("files_check")
    assert missing.returncode == 1 and missing.stderr.count("missing: ") == 2, missing.stderr
    uploaded = manage("bucket_restore", str(copy))
    assert uploaded.returncode == 0, uploaded.stderr
    assert "2 file(s) uploaded" in uploaded.stdout
    assert keys(client, restored_bucket) == keys(client, live)
    checked = manage("files_check")
    assert checked.returncode == 0, checked.stderr
    assert "Every file the database names is there." in checked.stdout


def test_a_nightly_bucket_backup_copies_only_what_is_new(files_in_a_bucket, tmp_path, capsys):
    from tests.applications.factories import active_assignment, first_milestone, pdf
    from tests.applications.factories import submit as submit_work

    copy = tmp_path / "files"
    call_command("bucket_backup", str(copy))
    assert "2 file(s) copied" in capsys.readouterr().out
    submit_work(first_milestone(active_assignment()), files=[pdf("late.pdf", b"%PDF-1.4 late")])
    call_command("bucket_backup", str(copy))
    second = capsys.readouterr().out
    assert "1 file(s) copied" in second and "2 already there" in second
    assert len([p for p in copy.rglob("*") if p.is_file()]) == 3
