import factory
from factory.django import DjangoModelFactory

from accounts.models import Employer, Membership, StudentProfile, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = User.Role.STUDENT

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        """allauth's EmailAddress, verified, so the user can log in at once."""
        if create and extracted is not False:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.update_or_create(
                user=obj, email=obj.email, defaults={"verified": True, "primary": True}
            )


class StudentFactory(UserFactory):
    role = User.Role.STUDENT
    profile = factory.RelatedFactory(
        "tests.factories.StudentProfileFactory", factory_related_name="user"
    )


class StudentProfileFactory(DjangoModelFactory):
    class Meta:
        model = StudentProfile

    user = factory.SubFactory(UserFactory, role=User.Role.STUDENT)
    school = "University of Leeds"
    programme = "Computer Science"
    graduation_year = 2027
    skills = factory.LazyFunction(lambda: ["python", "data analysis"])
    hours_per_week = 10


class EmployerFactory(DjangoModelFactory):
    class Meta:
        model = Employer

    name = factory.Sequence(lambda n: f"Acme {n} Ltd")
    website = "https://example.com"
    description = "We build useful things."


class EmployerUserFactory(UserFactory):
    """An employer member; ``employer`` is created unless given, and the user is its owner."""

    role = User.Role.EMPLOYER

    @factory.post_generation
    def employer(obj, create, extracted, **kwargs):
        if not create:
            return
        employer = extracted or EmployerFactory(**kwargs)
        Membership.objects.create(
            employer=employer,
            user=obj,
            role=Membership.Role.OWNER
            if not employer.memberships.exists()
            else Membership.Role.MEMBER,
        )


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True
