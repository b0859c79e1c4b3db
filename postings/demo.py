"""Demo postings for ``manage.py seed_demo``: published work in all four formats, paid and for
academic credit, from the demo employers. Idempotent: a posting whose title already exists for
its employer is left alone."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Employer, User

from . import services
from .models import Posting
from .rules import Values

NORTHWIND = "Northwind Analytics"
GREENLEAF = "Greenleaf Energy Co-op"
STAFF_EMAIL = "staff@demo.test"

DAY, WEEK = 24, 168

POSTINGS = [
    {
        "employer": NORTHWIND,
        "title": "Clean up a messy sales spreadsheet",
        "description": (
            "Our regional sales team keeps a shared spreadsheet that has grown for three years. "
            "Merge the duplicate customers, fix the date formats and add a tidy summary sheet.\n\n"
            "- about 4,000 rows\n- Excel or Google Sheets\n- a short note on what you changed"
        ),
        "acceptance_criteria": "One clean workbook, a summary tab, and a list of changes.",
        "category": "data",
        "skills": ["excel", "data cleaning"],
        "duration_hours": 2 * DAY,
        "effort_hours": 6,
        "mentoring": "none",
        "amount": 18000,
        "currency": "USD",
        "milestones": [("Clean workbook and notes", 2 * DAY, 18000)],
        "questions": ["Which spreadsheet functions would you use to find duplicates?"],
    },
    {
        "employer": NORTHWIND,
        "title": "Customer survey analysis in Python",
        "description": (
            "We ran a satisfaction survey for a chain of garden centres (2,300 answers). "
            "Clean the data, find what drives satisfaction and present it so that a shop "
            "manager understands it.\n\nYou will get the raw CSV export and a call with the "
            "analyst who designed the survey."
        ),
        "acceptance_criteria": (
            "A notebook that runs from the raw file, and a 6-slide summary with three "
            "recommendations."
        ),
        "category": "data",
        "skills": ["python", "pandas", "data analysis"],
        "duration_hours": 3 * WEEK,
        "effort_hours": 30,
        "mentoring": "light",
        "amount": 90000,
        "currency": "USD",
        "milestones": [
            ("Cleaned data and first findings", 1 * WEEK, 30000),
            ("Notebook and summary slides", 3 * WEEK, 60000),
        ],
        "questions": [
            "Link to a notebook or report you wrote.",
            "How would you handle free-text answers?",
        ],
    },
    {
        "employer": NORTHWIND,
        "title": "Retail demand forecasting prototype",
        "description": (
            "Build a first forecasting model for weekly demand of 50 products from two years "
            "of sales. Compare a simple baseline with one better model and explain the "
            "trade-offs.\n\nWeekly check-ins with our lead data scientist."
        ),
        "acceptance_criteria": (
            "Reproducible code, an evaluation against the baseline, and a written summary."
        ),
        "category": "data",
        "skills": ["python", "sql", "time series"],
        "duration_hours": 6 * WEEK,
        "effort_hours": 90,
        "mentoring": "regular",
        "amount": 270000,
        "currency": "USD",
        "milestones": [
            ("Data exploration", 2 * WEEK, 60000),
            ("Baseline and model", 4 * WEEK, 120000),
            ("Evaluation and write-up", 6 * WEEK, 90000),
        ],
        "questions": ["Which forecasting methods have you used before?"],
    },
    {
        "employer": NORTHWIND,
        "title": "Analytics internship: data quality programme",
        "description": (
            "Join our small team for ten weeks and help set up data quality checks for three "
            "client projects. You will pair with a senior analyst, attend client meetings and "
            "own one set of checks from design to hand-over."
        ),
        "acceptance_criteria": (
            "Data quality checks running for one client project, documented for the team."
        ),
        "category": "data",
        "skills": ["sql", "data analysis", "python"],
        "duration_hours": 10 * WEEK,
        "effort_hours": 200,
        "work_mode": "hybrid",
        "location": "Lisbon, two days a week in the office",
        "mentoring": "structured",
        "compensation": "credit",
        "credit_arrangement": (
            "6 ECTS credits through your university's placement office; we sign the learning "
            "agreement and write the final evaluation."
        ),
        "milestones": [("Mid-term review", 5 * WEEK, 0), ("Final hand-over", 10 * WEEK, 0)],
        "questions": ["Which university and programme are you in?"],
    },
    {
        "employer": GREENLEAF,
        "title": "Write our community newsletter series",
        "description": (
            "Write four short newsletter issues that explain our new community solar project "
            "to members: how it works, what it costs, and how to take part. We provide the "
            "facts; you make them readable."
        ),
        "acceptance_criteria": "Four issues of 400 to 600 words each, edited once after feedback.",
        "category": "marketing",
        "skills": ["copywriting", "marketing"],
        "duration_hours": 2 * WEEK,
        "effort_hours": 16,
        "mentoring": "light",
        "amount": 48000,
        "currency": "EUR",
        "milestones": [("First two issues", 1 * WEEK, 24000), ("Last two issues", 2 * WEEK, 24000)],
        "questions": ["Share a piece of writing you are proud of."],
    },
    {
        "employer": GREENLEAF,
        "title": "Design a flyer for the solar open day",
        "description": (
            "One A5 flyer, print-ready, for our open day at the new solar roof. Friendly, "
            "clear, in our colours."
        ),
        "acceptance_criteria": "A print-ready PDF and the source file.",
        "category": "design",
        "skills": ["figma", "illustration"],
        "duration_hours": 3 * DAY,
        "effort_hours": 5,
        "mentoring": "none",
        "amount": 15000,
        "currency": "EUR",
        "milestones": [("Print-ready flyer", 3 * DAY, 15000)],
        "questions": [],
    },
    {
        "employer": GREENLEAF,
        "title": "Member survey research project",
        "description": (
            "Design and run a short survey of our 800 members about what they expect from "
            "the co-op in the next five years, then report the results to the board."
        ),
        "acceptance_criteria": "Survey questions, the collected answers, and a board report.",
        "category": "research",
        "skills": ["ux research", "data analysis"],
        "duration_hours": 5 * WEEK,
        "effort_hours": 60,
        "mentoring": "regular",
        "compensation": "credit",
        "credit_arrangement": "A research project of 5 ECTS, supervised with your department.",
        "milestones": [],
        "questions": ["Have you designed a survey before?"],
    },
    {
        "employer": GREENLEAF,
        "title": "Energy data internship",
        "description": (
            "Twelve weeks with our operations team: build the dashboards that show members "
            "how much energy their projects produce, and help plan next year's projects."
        ),
        "acceptance_criteria": "Two dashboards in production and a planning report.",
        "category": "software",
        "skills": ["python", "sql", "dashboards"],
        "duration_hours": 12 * WEEK,
        "effort_hours": 240,
        "work_mode": "onsite",
        "location": "Leeds, United Kingdom",
        "mentoring": "structured",
        "amount": 600000,
        "currency": "GBP",
        "milestones": [
            ("First dashboard", 4 * WEEK, 200000),
            ("Second dashboard", 8 * WEEK, 200000),
            ("Planning report", 12 * WEEK, 200000),
        ],
        "questions": ["What would you like to learn in this internship?"],
    },
    {
        # Left waiting for review, so that the moderation queue has something to show.
        "employer": "Greenleaf Energy Co-op",
        "title": "Photograph our three community solar sites",
        "leave_for_review": True,
        "description": (
            "Visit our three solar sites near Leeds on one weekend and take photographs we can "
            "use on our website and in the members' newsletter."
        ),
        "acceptance_criteria": "Thirty edited photographs, ten per site, with captions.",
        "category": "marketing",
        "skills": ["photography"],
        "duration_hours": 2 * DAY,
        "effort_hours": 10,
        "work_mode": "onsite",
        "location": "Leeds, United Kingdom",
        "mentoring": "light",
        "openings": 1,
        "amount": 30000,
        "currency": "GBP",
        "milestones": [("Edited photographs", 2 * DAY, 30000)],
        "questions": ["Please link two photographs you are proud of."],
    },
]


def _values(spec: dict) -> Values:
    now = timezone.now()
    deadline = now + timedelta(days=10)
    return Values(
        title=spec["title"],
        description=spec["description"],
        acceptance_criteria=spec["acceptance_criteria"],
        category=spec["category"],
        skills=spec["skills"],
        starts_at=deadline + timedelta(days=7),
        duration_hours=spec["duration_hours"],
        effort_hours=spec["effort_hours"],
        work_mode=spec.get("work_mode", "remote"),
        location=spec.get("location", ""),
        mentoring=spec["mentoring"],
        openings=spec.get("openings", 2),
        application_deadline=deadline,
        allowed_revisions=2,
        compensation=spec.get("compensation", "paid"),
        amount=spec.get("amount", 0),
        currency=spec.get("currency", "USD"),
        credit_arrangement=spec.get("credit_arrangement", ""),
        milestones=[
            {"title": t, "due_offset_hours": o, "amount": a} for t, o, a in spec["milestones"]
        ],
        questions=[{"text": q, "required": True} for q in spec["questions"]],
    )


def seed_demo(*, stdout) -> None:
    staff = User.objects.filter(email=STAFF_EMAIL).first()
    made = 0
    for spec in POSTINGS:
        employer = Employer.objects.filter(name=spec["employer"]).first()
        if employer is None:
            continue
        if Posting.objects.filter(employer=employer, title=spec["title"]).exists():
            continue
        owner = User.objects.members_of(employer.pk).order_by("pk")[0]
        posting = services.posting_create(employer=employer, actor=owner, values=_values(spec))
        posting = services.posting_submit(posting=posting, actor=owner)
        if (
            posting.status == Posting.Status.PENDING_REVIEW
            and staff is not None
            and not spec.get("leave_for_review")
        ):
            services.posting_approve(posting=posting, actor=staff, reason="Demo data.")
        made += 1
    stdout.write(f"Postings: {made} demo posting(s) added.")
