import io

import pytest

from applications.models import Assignment
from payments import demo
from payments.models import Funding, Payout
from tests.factories import EmployerUserFactory

from .factories import AssignmentFactory
from .helpers import assert_ledger_clean

pytestmark = pytest.mark.django_db


def test_seed_demo_funds_and_pays_with_the_test_provider_and_is_idempotent(test_provider):
    first = AssignmentFactory(amount=20000, milestones=[8000, 12000])
    second = AssignmentFactory(amount=10000, milestones=[10000])
    for assignment in (first, second):
        EmployerUserFactory(employer=assignment.posting.employer)
    out = io.StringIO()
    demo.seed_demo(stdout=out)
    assert "2 assignment(s) funded, 1 payout(s) paid" in out.getvalue()
    assert Funding.objects.filter(status=Funding.Status.PAID).count() == 2
    assert set(Assignment.objects.values_list("status", flat=True)) == {"active"}
    payout = Payout.objects.get()
    assert payout.status == Payout.Status.PAID and payout.amount == 8000
    state = (Funding.objects.count(), Payout.objects.count())
    again = io.StringIO()
    demo.seed_demo(stdout=again)
    assert "0 assignment(s) funded, 1 payout(s) paid" in again.getvalue()
    assert (Funding.objects.count(), Payout.objects.count()) == state
    assert_ledger_clean()
