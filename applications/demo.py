"""Demo applications and assignments for ``manage.py seed_demo``, through the services.

Runs after the postings demo. Each story below belongs to one student and one posting; it runs
only when that student has not applied to that posting yet, so running the command again
changes nothing. Paid assignments are left waiting for funding (the payments demo decides what
to fund); completed work with ratings uses academic-credit postings, where approval is final.
"""

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from postings.models import Posting

from . import services
from .models import Application, Assignment, Dispute

ANA, BEN, CHLOE = "ana@student.demo.test", "ben@student.demo.test", "chloe@student.demo.test"
STAFF = "staff@demo.test"

CLEANUP = "Clean up a messy sales spreadsheet"
SURVEY = "Customer survey analysis in Python"
FORECAST = "Retail demand forecasting prototype"
INTERNSHIP = "Analytics internship: data quality programme"
NEWSLETTER = "Write our community newsletter series"
FLYER = "Design a flyer for the solar open day"
RESEARCH = "Member survey research project"

NOTES = {
    ANA: (
        "I am a data science student who has cleaned and analysed survey data for two student "
        "societies. I enjoy turning numbers into a story a manager can act on, and I write "
        "reproducible notebooks."
    ),
    BEN: (
        "I study commerce and write the newsletter of our student union (3,000 readers). I like "
        "explaining complicated things in plain words and I meet deadlines."
    ),
    CHLOE: (
        "I am a design student who loves clear, friendly visual communication. I have made "
        "posters and flyers for three festivals and I work in Figma every day."
    ),
}

REPORT = (
    b"# Data quality checks\n\nChecks for completeness, duplicates and late files, with the "
    b"thresholds agreed with the client.\n"
)


def _owner(posting: Posting) -> User:
    return User.objects.members_of(posting.employer_id).order_by("pk")[0]


def _apply(student: User, posting: Posting) -> Application:
    answers = {str(q.pk): "Happy to tell you more in a call." for q in posting.questions.all()}
    return services.application_submit(
        posting=posting,
        student=student,
        cover_note=NOTES[student.email],
        answers=answers,
        portfolio_links=[f"https://portfolio.example/{student.email.split('@')[0]}"],
    )


def _deliver(milestone, student, name: str, note: str):
    return services.submission_create(
        milestone=milestone,
        actor=student,
        note=note,
        links=["https://docs.example/shared/work"],
        files=[SimpleUploadedFile(name, REPORT, content_type="text/markdown")],
    )


def _story(student: User, posting: Posting, owner: User, stage: str) -> None:
    application = _apply(student, posting)
    if stage == "submitted":
        return
    if stage == "withdrawn":
        services.application_withdraw(application=application, actor=student)
        return
    if stage == "rejected":
        services.application_reject(
            application=application,
            actor=owner,
            message="Thank you! We chose a candidate with more spreadsheet experience.",
        )
        return
    services.application_shortlist(application=application, actor=owner)
    services.message_send(
        application=application,
        actor=owner,
        body="Thanks for applying! Could you start on the first day of the time box?",
    )
    services.message_send(
        application=application, actor=student, body="Yes, I am free from the start date."
    )
    if stage == "shortlisted":
        return
    services.application_offer(application=application, actor=owner)
    if stage == "offered":
        return
    assignment = services.application_accept(application=application, actor=student)
    if stage != "accepted":
        _work(assignment, student, owner, stage)


def _work(assignment: Assignment, student: User, owner: User, stage: str) -> None:
    """The assignment's story from the first delivery: in review, disputed or completed."""
    milestones = list(assignment.milestones.order_by("position"))
    first = milestones[0]
    _deliver(first, student, "first-delivery.md", "The first part, as agreed.")
    if stage == "in_review":
        return
    if stage == "disputed":
        services.dispute_open(
            milestone=first,
            actor=owner,
            reason="The checks do not cover the client's late files, which was the main ask.",
        )
        return
    # completed: a revision round on the first milestone, then everything approved.
    services.milestone_request_revision(
        milestone=first, actor=owner, feedback="Please add the thresholds for late files."
    )
    _deliver(first, student, "first-delivery-v2.md", "Added the late-file thresholds.")
    services.milestone_approve(milestone=first, actor=owner)
    for milestone in milestones[1:]:
        _deliver(milestone, student, f"{milestone.title[:20]}.md", "Final hand-over.")
        services.milestone_approve(milestone=milestone, actor=owner)
    assignment.refresh_from_db()
    services.rating_create(
        assignment=assignment,
        actor=owner,
        score=5,
        comment="Careful, well documented work; the team uses the checks every day.",
    )
    services.rating_create(
        assignment=assignment,
        actor=student,
        score=5,
        comment="Clear goals and a mentor who always had time for questions.",
    )


# (student, posting title, stage) in the order they run.
STORIES = [
    (ANA, INTERNSHIP, "completed"),
    (ANA, SURVEY, "accepted"),
    (ANA, FORECAST, "shortlisted"),
    (BEN, RESEARCH, "in_review"),
    (BEN, NEWSLETTER, "submitted"),
    (BEN, CLEANUP, "withdrawn"),
    (CHLOE, FLYER, "offered"),
    (CHLOE, INTERNSHIP, "disputed"),
    (CHLOE, CLEANUP, "rejected"),
    (CHLOE, RESEARCH, "shortlisted"),
]


def seed_demo(*, stdout) -> None:
    users = {u.email: u for u in User.objects.filter(email__in=[ANA, BEN, CHLOE])}
    made = 0
    for email, title, stage in STORIES:
        student = users.get(email)
        posting = Posting.objects.filter(title=title).select_related("employer").first()
        if student is None or posting is None:
            continue
        if Application.objects.filter(student=student, posting=posting).exists():
            continue
        _story(student, posting, _owner(posting), stage)
        made += 1
    # Northwind invites Ana, with whom it completed the internship, to another posting.
    ana = users.get(ANA)
    cleanup = Posting.objects.filter(title=CLEANUP).first()
    done = (
        ana.assignments.filter(status="completed", posting__employer=cleanup.employer).first()
        if ana and cleanup
        else None
    )
    if done and cleanup and not Application.objects.filter(student=ana, posting=cleanup).exists():
        services.reinvite_create(
            source_assignment=done,
            posting=cleanup,
            actor=_owner(cleanup),
            message="We loved working with you. This one is short; interested?",
        )
    open_disputes = Dispute.objects.filter(resolved_at__isnull=True).count()
    stdout.write(
        f"Applications: {made} demo stor{'y' if made == 1 else 'ies'} added "
        f"({open_disputes} open dispute(s) for staff)."
    )
