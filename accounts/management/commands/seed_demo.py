"""Demo data for ``make run``: idempotent, so running it again changes nothing.

Each app adds its part in a function ``seed_demo(stdout)`` in its own ``demo.py``; this command
runs them in dependency order after the accounts.
"""

import functools
import importlib
import importlib.util

from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Employer, Membership, StudentProfile, User

DEMO_PASSWORD = "demo-pass-2026"

STAFF = ("staff@demo.test", "Morgan Moderator")
EMPLOYERS = [
    (
        "owner@northwind.demo.test",
        "Nadia Okafor",
        "Northwind Analytics",
        True,
        "https://northwind.example",
        "A small analytics consultancy working with retailers.",
    ),
    (
        "owner@greenleaf.demo.test",
        "Tom Becker",
        "Greenleaf Energy Co-op",
        False,
        "https://greenleaf.example",
        "A community energy co-operative with big data questions.",
    ),
]
STUDENTS = [
    (
        "ana@student.demo.test",
        "Ana Silva",
        "University of Porto",
        "Data Science",
        ["python", "sql", "data analysis", "pandas"],
        12,
        "Europe/Lisbon",
    ),
    (
        "ben@student.demo.test",
        "Ben Carter",
        "University of Toronto",
        "Commerce",
        ["marketing", "copywriting", "social media"],
        8,
        "America/Toronto",
    ),
    (
        "chloe@student.demo.test",
        "Chloé Martin",
        "Sciences Po",
        "Design",
        ["figma", "ux research", "illustration"],
        20,
        "Europe/Paris",
    ),
]

# Apps that extend the demo, in dependency order; each has demo.seed_demo(stdout=...).
EXTENSIONS = ["postings", "applications", "payments", "notifications", "credentials"]


@functools.cache
def _demo_password_hash() -> str:
    """Hashed once for all demo users: a password hash takes most of a second on purpose, and
    every demo account has the same published password anyway."""
    return make_password(DEMO_PASSWORD)


def _user(email, name, role, *, tz="UTC") -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": name, "role": role, "time_zone": tz}
    )
    if created:
        user.password = _demo_password_hash()
        user.save(update_fields=["password"])
    _verified(user)
    return user


def _staff(email, name) -> User:
    """Made as ``createsuperuser`` makes the first staff user in production."""
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_superuser(email, None, full_name=name)
        user.password = _demo_password_hash()
        user.save(update_fields=["password"])
    _verified(user)
    return user


def _verified(user: User) -> None:
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


class Command(BaseCommand):
    help = "Load demo users, organisations and (from the other apps) their data. Idempotent."

    def handle(self, *args, **options):
        with transaction.atomic():
            _staff(*STAFF)
            for email, name, org, verified, website, description in EMPLOYERS:
                user = _user(email, name, User.Role.EMPLOYER)
                employer, _ = Employer.objects.get_or_create(
                    name=org,
                    defaults={"verified": verified, "website": website, "description": description},
                )
                Membership.objects.get_or_create(
                    user=user, defaults={"employer": employer, "role": Membership.Role.OWNER}
                )
            for email, name, school, programme, skills, hours, tz in STUDENTS:
                user = _user(email, name, User.Role.STUDENT, tz=tz)
                StudentProfile.objects.get_or_create(
                    user=user,
                    defaults={
                        "school": school,
                        "programme": programme,
                        "skills": skills,
                        "hours_per_week": hours,
                        "graduation_year": 2027,
                        "bio": f"{programme} student at {school}.",
                        "record_public": True,
                    },
                )
            for label in EXTENSIONS:
                if apps.is_installed(label) and importlib.util.find_spec(f"{label}.demo"):
                    module = importlib.import_module(f"{label}.demo")
                    module.seed_demo(stdout=self.stdout)

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data is ready. Log in at {settings.SITE_URL}/accounts/login/ with:"
            )
        )
        self.stdout.write(f"  staff     {STAFF[0]:<32} password {DEMO_PASSWORD}")
        for email, *_ in EMPLOYERS:
            self.stdout.write(f"  employer  {email:<32} password {DEMO_PASSWORD}")
        for email, *_ in STUDENTS:
            self.stdout.write(f"  student   {email:<32} password {DEMO_PASSWORD}")
