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
    """A staff user as ``createsuperuser`` makes one: the staff role, no student profile."""

    role = User.Role.STAFF
    is_staff = True
    is_superuser = True

    @factory.post_generation
    def totp(obj, create, extracted, **kwargs):
        """Staff must use two factors: an authenticator app is set up (``totp=False``: none).
        ``obj.totp_secret`` is its secret, for tests that log in with a code."""
        obj.totp_secret = None
        if create and extracted is not False:
            from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

            obj.totp_secret = generate_totp_secret()
            TOTP.activate(obj, obj.totp_secret)


# --- Postings ---------------------------------------------------------------------------------
# Factories build rows directly (fixtures, not behaviour); tests of behaviour go through services.
import datetime as _dt  # noqa: E402

from django.utils import timezone  # noqa: E402

from postings.models import Posting, PostingMilestone, ScreeningQuestion, Skill  # noqa: E402


class SkillFactory(DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"skill {n}")
    slug = factory.LazyAttribute(lambda o: o.name.replace(" ", "-"))


class PostingFactory(DjangoModelFactory):
    """A published, paid micro posting (two weeks, 20 hours, 500.00 USD) unless told otherwise."""

    class Meta:
        model = Posting
        skip_postgeneration_save = True

    employer = factory.SubFactory(EmployerFactory)
    title = factory.Sequence(lambda n: f"Customer survey analysis {n}")
    description = "Analyse our customer survey and present the findings."
    acceptance_criteria = "A short report with charts and three recommendations."
    category = Posting.Category.DATA
    status = Posting.Status.PUBLISHED
    starts_at = factory.LazyFunction(lambda: timezone.now() + _dt.timedelta(days=14))
    duration_hours = 14 * 24
    effort_hours = 20
    application_deadline = factory.LazyFunction(lambda: timezone.now() + _dt.timedelta(days=7))
    openings = 1
    compensation = Posting.Compensation.PAID
    amount = 50000
    currency = "USD"
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def milestones(obj, create, extracted, **kwargs):
        """``milestones=[(title, due_offset_hours, amount), ...]``; default: one for the total."""
        if not create:
            return
        items = (
            extracted
            if extracted is not None
            else [("Final delivery", obj.duration_hours, obj.amount)]
        )
        for position, (title, offset, amount) in enumerate(items):
            PostingMilestone.objects.create(
                posting=obj, position=position, title=title, due_offset_hours=offset, amount=amount
            )

    @factory.post_generation
    def questions(obj, create, extracted, **kwargs):
        if create and extracted:
            for position, text in enumerate(extracted):
                ScreeningQuestion.objects.create(posting=obj, position=position, text=text)

    @factory.post_generation
    def skills(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.skills.set(
                [SkillFactory(name=name, slug=name.replace(" ", "-")) for name in extracted]
            )
            obj.skill_names = ", ".join(sorted(extracted))
            obj.save(update_fields=["skill_names"])

    @factory.post_generation
    def search_vector(obj, create, extracted, **kwargs):
        """The full-text vector the services keep (PostgreSQL only; a no-op on SQLite)."""
        if create:
            from postings.services import search_vectors_refresh

            search_vectors_refresh(posting_ids=[obj.pk])


class CreditPostingFactory(PostingFactory):
    compensation = Posting.Compensation.CREDIT
    amount = 0
    credit_arrangement = "3 ECTS credits through the student's placement office."
