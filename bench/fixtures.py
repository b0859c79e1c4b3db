"""What the postings benchmark needs from the database, made in one Django process and printed
as JSON (``python -m bench.fixtures``, run by ``bench/postings.py``; not a test):

- a signed-in student with 200 applications and an employer member whose postings have 200
  applications (for the dashboards), as session cookies made the way a login makes them;
- the ids of up to 2,000 published postings (the posting pages), the skills' slugs and the
  number range of the titles (a narrow search);
- the plan of every filter alone and of the benchmark's own combinations, to print the slowest.

Idempotent: the users and their applications are made once per database.
"""

from __future__ import annotations

import json
import os
import random
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from accounts.models import Employer, Membership, StudentProfile, User  # noqa: E402
from applications.models import Application  # noqa: E402
from postings.models import Posting, Skill  # noqa: E402
from postings.plans import explain, plan_problems, plan_time_ms, single_filters  # noqa: E402

APPLICATIONS = 200


def _session_cookie(user: User) -> str:
    """A session for ``user`` in the site's session engine, as ``login()`` leaves it."""
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def _user(email: str, role: str) -> tuple[User, bool]:
    user = User.objects.filter(email=email).first()
    if user:
        return user, False
    return User.objects.create_user(email, "bench-password-1", role=role, full_name=email), True


def _student_with_applications(published: list[int]) -> User:
    student, new = _user("bench-student@example.com", User.Role.STUDENT)
    if new:
        StudentProfile.objects.create(user=student, skills=["python", "sql"], hours_per_week=20)
        Application.objects.bulk_create(
            Application(posting_id=pk, student=student, cover_note="I would like to help.")
            for pk in published[:APPLICATIONS]
        )
    return student


def _employer_with_applications() -> User:
    member, new = _user("bench-employer@example.com", User.Role.EMPLOYER)
    if not new:
        return member
    employer = Employer.objects.filter(name__startswith="Bulk employer ").order_by("pk").first()
    Membership.objects.create(employer=employer, user=member, role=Membership.Role.OWNER)
    postings = list(
        Posting.objects.filter(employer=employer, status="published").order_by("-pk")[:20]
    )
    students = User.objects.bulk_create(
        User(email=f"bench-applicant-{i}@example.com", role=User.Role.STUDENT)
        for i in range(APPLICATIONS)
    )
    Application.objects.bulk_create(
        Application(posting=postings[i % len(postings)], student=s, cover_note="Hello.")
        for i, s in enumerate(students)
    )
    return member


def main(combinations: list[str]) -> dict:
    rng = random.Random(7)
    published = list(
        Posting.objects.filter(status="published").order_by("pk").values_list("pk", flat=True)
    )
    student = _student_with_applications(published)
    member = _employer_with_applications()
    plans = []
    for params in single_filters() + combinations:
        plan = explain(params)
        problems = plan_problems(plan, searching="q=" in params)
        plans.append((plan_time_ms(plan), params, problems, plan))
    plans.sort(reverse=True)
    slowest = plans[0]
    return {
        "postings": len(published),
        "posting_ids": rng.sample(published, min(2000, len(published))),
        "skills": list(Skill.objects.order_by("slug").values_list("slug", flat=True)),
        "student_cookie": _session_cookie(student),
        "employer_cookie": _session_cookie(member),
        "plans_checked": len(plans),
        "plans_with_problems": [(p, problems) for _, p, problems, _ in plans if problems],
        "slowest_plan": {"params": slowest[1], "ms": slowest[0], "plan": slowest[3]},
        "made_at": timezone.now().isoformat(),
    }


if __name__ == "__main__":
    combos = json.loads(sys.stdin.read() or "[]")
    print(json.dumps(main(combos)))
