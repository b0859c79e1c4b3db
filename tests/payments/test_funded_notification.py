"""One "funded" notification per payment: the student and each member of the employer (the
one who paid included) hear once that the assignment is funded, however often the provider
reports the payment."""

import pytest

from payments import services
from payments.models import Funding
from tests.factories import EmployerUserFactory

from .factories import AssignmentFactory, employer_of
from .helpers import pay_with_test_provider

pytestmark = pytest.mark.django_db


def test_each_person_hears_once_that_the_assignment_is_funded(test_provider, on_commit):
    assignment = AssignmentFactory(amount=50000, milestones=[20000, 30000])
    payer = employer_of(assignment)
    colleague = EmployerUserFactory(employer=assignment.posting.employer)
    funding = services.funding_start(assignment=assignment, actor=payer)
    with on_commit():
        pay_with_test_provider(funding)
    funding.refresh_from_db()
    assert funding.status == Funding.Status.PAID
    # The provider reports it again (a redelivered webhook, the return page's check).
    with on_commit():
        services.funding_confirm(session_id=funding.checkout_session_id)

    for user in (payer, colleague, assignment.student):
        funded = user.notifications.filter(kind="assignment.funded")
        assert funded.count() == 1, user
        assert funded.get().link == f"/assignments/{assignment.pk}/"
