"""Rows for payment tests: an accepted application's assignment with its milestones.

These build the applications side's rows directly (fixtures, not behaviour); the behaviour under
test goes through payments' services.
"""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from applications.models import Application, Assignment, Milestone
from tests.factories import EmployerUserFactory, PostingFactory, StudentFactory


class ApplicationFactory(DjangoModelFactory):
    class Meta:
        model = Application

    posting = factory.SubFactory(PostingFactory)
    student = factory.SubFactory(StudentFactory)
    status = Application.Status.ACCEPTED
    cover_note = "I would love to do this."


class AssignmentFactory(DjangoModelFactory):
    """Awaiting funding, with milestones (``milestones=[amount, ...]``, default one for all)."""

    class Meta:
        model = Assignment
        skip_postgeneration_save = True

    application = factory.SubFactory(ApplicationFactory)
    posting = factory.LazyAttribute(lambda o: o.application.posting)
    student = factory.LazyAttribute(lambda o: o.application.student)
    status = Assignment.Status.AWAITING_FUNDING
    amount = 50000
    currency = "USD"
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=14))
    funding_due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=3))

    @factory.post_generation
    def milestones(obj, create, extracted, **kwargs):
        if not create:
            return
        amounts = extracted if extracted is not None else [obj.amount]
        for position, amount in enumerate(amounts):
            Milestone.objects.create(
                assignment=obj,
                position=position,
                title=f"Milestone {position + 1}",
                amount=amount,
                due_at=obj.ends_at,
            )


def employer_of(assignment):
    """An owner of the assignment's employer organisation."""
    return EmployerUserFactory(employer=assignment.posting.employer)
