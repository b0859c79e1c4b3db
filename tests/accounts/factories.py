import factory
from factory.django import DjangoModelFactory

from accounts.models import Invitation
from tests.factories import EmployerFactory


class InvitationFactory(DjangoModelFactory):
    class Meta:
        model = Invitation

    employer = factory.SubFactory(EmployerFactory)
    email = factory.Sequence(lambda n: f"colleague{n}@example.com")
