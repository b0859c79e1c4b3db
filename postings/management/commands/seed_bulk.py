"""``manage.py seed_bulk --postings N``: N varied, published postings, fast (for benchmarks).

Rows are written with ``bulk_create`` in batches, the skills' link table too, then the
full-text vectors are computed in one statement per batch on PostgreSQL. The postings belong to
a handful of "Bulk" employers created on first use. Not idempotent: each run adds N more.
"""

import random
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Employer
from postings.cache import postings_changed
from postings.models import WEEK, Posting, PostingMilestone, Skill, format_for_duration
from postings.services import search_vectors_refresh

SKILLS = [
    "python",
    "sql",
    "excel",
    "data analysis",
    "pandas",
    "time series",
    "dashboards",
    "copywriting",
    "marketing",
    "social media",
    "seo",
    "figma",
    "illustration",
    "ux research",
    "javascript",
    "react",
    "django",
    "accounting",
    "financial modelling",
    "market research",
    "video editing",
    "photography",
    "translation",
    "customer research",
    "project management",
    "statistics",
    "machine learning",
    "tableau",
    "public speaking",
    "grant writing",
]
TOPICS = [
    ("Customer survey analysis", "data", "Analyse the answers of our latest customer survey"),
    ("Sales dashboard", "data", "Build a dashboard of weekly sales by region and product"),
    ("Landing page copy", "marketing", "Write the copy for a new product landing page"),
    ("Social media calendar", "marketing", "Plan a month of posts for our social channels"),
    ("Onboarding flow redesign", "design", "Redesign the first five screens of our app"),
    ("Competitor research", "research", "Compare our offer with five competitors"),
    ("Bookkeeping clean-up", "finance", "Reconcile a quarter of transactions and categories"),
    ("Internal tool prototype", "software", "Prototype a small web tool for our support team"),
    ("Process documentation", "business", "Document how orders move from sale to delivery"),
    ("Grant application draft", "other", "Draft a grant application for a community project"),
]
PLACES = ["Leeds", "Porto", "Berlin", "Toronto", "Lyon", "Manchester", "Lisbon", "Vienna"]
DURATIONS = [
    8,
    24,
    48,
    72,
    5 * 24,
    7 * 24,
    2 * WEEK,
    3 * WEEK,
    4 * WEEK,
    6 * WEEK,
    8 * WEEK,
    10 * WEEK,
    12 * WEEK,
]


class Command(BaseCommand):
    help = "Create N varied published postings quickly (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--postings", type=int, default=0, help="How many postings to add.")
        parser.add_argument("--employers", type=int, default=20)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=1, help="Random seed (repeatable data).")

    def handle(self, *args, postings: int, employers: int, batch_size: int, seed: int, **kw):
        if postings < 0 or employers < 1 or batch_size < 1:
            raise CommandError("--postings must be >= 0, --employers and --batch-size >= 1.")
        if not postings:
            self.stdout.write("Nothing to do: pass --postings N.")
            return
        rng = random.Random(seed)
        bosses = self._employers(employers)
        skills = self._skills()
        now = timezone.now()
        made = 0
        while made < postings:
            size = min(batch_size, postings - made)
            with transaction.atomic():
                rows = [self._posting(rng, bosses, skills, now, made + i) for i in range(size)]
                created = Posting.objects.bulk_create([row for row, _ in rows])
                through = Posting.skills.through
                through.objects.bulk_create(
                    through(posting_id=p.pk, skill_id=s.pk)
                    for p, (_, chosen) in zip(created, rows, strict=True)
                    for s in chosen
                )
                PostingMilestone.objects.bulk_create(
                    PostingMilestone(
                        posting_id=p.pk,
                        position=0,
                        title="Final delivery",
                        due_offset_hours=p.duration_hours,
                        amount=p.amount,
                    )
                    for p in created
                )
                search_vectors_refresh(posting_ids=[p.pk for p in created])
                postings_changed()
            made += size
            self.stdout.write(f"  {made}/{postings} postings")
        self.stdout.write(self.style.SUCCESS(f"Added {postings} postings."))

    def _employers(self, count: int) -> list[Employer]:
        existing = list(Employer.objects.filter(name__startswith="Bulk employer ").order_by("pk"))
        for i in range(len(existing), count):
            existing.append(
                Employer.objects.create(name=f"Bulk employer {i + 1}", verified=i % 3 == 0)
            )
        return existing[:count]

    def _skills(self) -> list[Skill]:
        from django.utils.text import slugify

        return [
            Skill.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]
            for name in SKILLS
        ]

    def _posting(self, rng, bosses, skills, now, n):
        title, category, sentence = rng.choice(TOPICS)
        duration = rng.choice(DURATIONS)
        weeks = max(duration / WEEK, 1)
        effort = max(1, min(int(weeks * rng.choice([4, 6, 8, 10, 15, 20])), duration))
        paid = rng.random() < 0.85
        amount = effort * rng.choice([2000, 2500, 3000, 3500, 4000]) if paid else 0
        mode = rng.choice(["remote"] * 6 + ["onsite", "hybrid"])
        chosen = rng.sample(skills, rng.randint(1, 4))
        published = now - timedelta(minutes=rng.randint(1, 60 * 24 * 60))
        deadline = now + timedelta(hours=rng.randint(24, 24 * 40))
        posting = Posting(
            employer=rng.choice(bosses),
            status=Posting.Status.PUBLISHED,
            title=f"{title} #{n + 1}",
            description=(
                f"{sentence}. You will work with our team on a real problem and hand over a "
                f"finished piece of work. Skills that help: {', '.join(s.name for s in chosen)}."
            ),
            acceptance_criteria="The deliverable described above, reviewed once.",
            category=category,
            starts_at=deadline + timedelta(days=rng.randint(1, 14)),
            duration_hours=duration,
            effort_hours=effort,
            format=format_for_duration(duration),
            hours_per_week=round(effort / weeks, 1),
            work_mode=mode,
            location="" if mode == "remote" else rng.choice(PLACES),
            mentoring=rng.choice(["none", "light", "regular", "structured"]),
            openings=rng.randint(1, 3),
            application_deadline=deadline,
            compensation="paid" if paid else "credit",
            amount=amount,
            currency=rng.choice(["USD", "EUR", "GBP"]) if paid else "USD",
            credit_arrangement="" if paid else "Credit through the student's university.",
            skill_names=", ".join(sorted(s.name for s in chosen)),
            published_at=published,
            submitted_at=published,
        )
        posting.render_texts()  # bulk_create does not call save()
        return posting, chosen
