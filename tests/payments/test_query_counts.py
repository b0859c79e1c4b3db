"""List pages, API lists and CSV exports make the same number of queries for 1 or 8 rows."""

import pytest

from payments.models import Funding, Payout
from tests.factories import StaffFactory

from .factories import AssignmentFactory, employer_of

pytestmark = pytest.mark.django_db


def make_rows(n, *, student=None, employer=None):
    """Paid fundings and paid payouts, as rows (the flow is tested elsewhere)."""
    assignment = None
    for i in range(n):
        kwargs = {"application__student": student} if student else {}
        if employer:
            kwargs["application__posting__employer"] = employer
        assignment = AssignmentFactory(amount=10000, milestones=[10000], **kwargs)
        funding = Funding.objects.create(
            assignment=assignment,
            employer=assignment.posting.employer,
            provider="test",
            status=Funding.Status.PAID,
            currency="USD",
            amount=10000,
            fee_percent=10,
            fee_amount=1000,
            total_amount=11000,
            checkout_session_id=f"cs_{assignment.pk}",
        )
        Payout.objects.create(
            milestone=assignment.milestones.get(),
            assignment=assignment,
            funding=funding,
            student=assignment.student,
            amount=10000,
            currency="USD",
            status=Payout.Status.PAID,
            transfer_id=f"tr_{i}_{assignment.pk}",
        )
    return assignment


@pytest.mark.parametrize("n", [1, 8])
def test_earnings_page_and_api(client, n, django_assert_num_queries):
    # The session is read from the cache (cached_db), so no query counts for it.
    first = make_rows(1)
    student = first.student
    make_rows(n - 1, student=student)
    client.force_login(student)
    with django_assert_num_queries(5):
        body = client.get("/payments/earnings/").content.decode()
    assert body.count("data-payout=") == n
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/payments/payouts/").json()["results"]) == n
    with django_assert_num_queries(2):
        client.get("/payments/earnings/payouts.csv")


@pytest.mark.parametrize("n", [1, 8])
def test_billing_and_staff_pages(client, n, django_assert_num_queries):
    first = make_rows(1)
    employer_model = first.posting.employer
    make_rows(n - 1, employer=employer_model)
    client.force_login(employer_of(first))
    with django_assert_num_queries(6):
        body = client.get("/payments/billing/").content.decode()
    assert body.count(">Receipt</a>") == n
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/payments/fundings/").json()["results"]) == n
    client.force_login(StaffFactory())
    # One query per list on the page (refunds waiting for the bank, chargebacks among them),
    # the staff navigation's counts, and the check that staff use two factors.
    with django_assert_num_queries(14):
        assert client.get("/payments/staff/").status_code == 200
    with django_assert_num_queries(4):
        client.get("/payments/staff/fundings.csv")
