"""The shared validator through the service: each bad input is refused with a clear message
on the right field, and nothing is written."""

import datetime as dt

import pytest
from django.utils import timezone

from marketplace.core.errors import DomainError, NotPermitted
from marketplace.core.models import AuditLog
from postings import rules, services
from postings.models import Posting
from tests.factories import EmployerUserFactory, StudentFactory
from tests.postings.helpers import valid_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return EmployerUserFactory()


def create(member, **changes):
    return services.posting_create(
        employer=member.employers.get(), actor=member, values=valid_values(**changes)
    )


def refused(member, field, fragment, **changes):
    with pytest.raises(DomainError) as exc:
        create(member, **changes)
    messages = exc.value.fields.get(field, [])
    assert any(fragment in m for m in messages), exc.value.fields
    assert exc.value.code == "invalid_posting"
    assert not Posting.objects.exists()
    return messages


def test_valid_posting_is_created_as_a_draft_with_children(member):
    posting = create(member)
    assert posting.status == Posting.Status.DRAFT
    assert posting.format == "micro"
    assert float(posting.hours_per_week) == 10.0
    assert [m.amount for m in posting.milestones.all()] == [20000, 30000]
    assert [q.text for q in posting.questions.all()] == ["Which tools would you use?"]
    assert sorted(s.name for s in posting.skills.all()) == ["data analysis", "python"]
    assert posting.created_by == member
    assert AuditLog.objects.filter(action="posting.created", target_id=str(posting.pk)).exists()


@pytest.mark.parametrize("hours", [0, -5, 12 * 168 + 1, 10**6])
def test_time_box_out_of_range(member, hours):
    refused(member, "duration_hours", "from 1 hour to 12 weeks", duration_hours=hours)


@pytest.mark.parametrize(
    "hours,fmt",
    [
        (1, "nano"),
        (72, "nano"),
        (73, "micro"),
        (672, "micro"),
        (673, "project"),
        (1344, "project"),
        (1345, "internship"),
        (2016, "internship"),
    ],
)
def test_format_follows_the_time_box(member, hours, fmt):
    posting = create(
        member,
        duration_hours=hours,
        effort_hours=1,
        amount=5000,
        milestones=[{"title": "All", "due_offset_hours": hours, "amount": 5000}],
    )
    assert posting.format == fmt


@pytest.mark.parametrize("amount", [0, -100])
def test_paid_posting_needs_a_positive_amount(member, amount):
    refused(member, "amount", "positive amount", amount=amount, milestones=[])


def test_absurd_amount_is_refused(member):
    refused(member, "amount", "above the limit", amount=10**12, milestones=[])


def test_unknown_currency(member):
    refused(member, "currency", "not a supported currency", currency="XYZ")


def test_milestones_must_add_up(member):
    messages = refused(
        member,
        "milestones",
        "add up to 400.00 USD but the total is 500.00 USD",
        milestones=[
            {"title": "A", "due_offset_hours": 24, "amount": 20000},
            {"title": "B", "due_offset_hours": 48, "amount": 20000},
        ],
    )
    assert len(messages) == 1


def test_milestone_outside_the_time_box(member):
    refused(
        member,
        "milestones",
        "outside the time box of 2 weeks",
        milestones=[{"title": "Late", "due_offset_hours": 15 * 24, "amount": 50000}],
    )


def test_deadline_after_start(member):
    now = timezone.now()
    refused(
        member,
        "application_deadline",
        "before the start",
        starts_at=now + dt.timedelta(days=3),
        application_deadline=now + dt.timedelta(days=4),
    )


def test_deadline_in_the_past(member):
    refused(
        member,
        "application_deadline",
        "in the future",
        application_deadline=timezone.now() - dt.timedelta(hours=1),
    )


def test_effort_must_fit_the_time_box(member):
    # Two weeks hold at most 120 hours (60 a week).
    refused(member, "effort_hours", "at most 120 hours fit", effort_hours=121)
    assert rules.max_effort_hours(2) == 2
    assert rules.max_effort_hours(24) == 8
    assert rules.max_effort_hours(168) == 60


@pytest.mark.parametrize("openings", [0, -1, 51])
def test_openings(member, openings):
    refused(member, "openings", "from 1 to 50", openings=openings)


def test_credit_posting_names_its_arrangement(member):
    refused(
        member,
        "credit_arrangement",
        "Name the credit arrangement",
        compensation="credit",
        amount=0,
        milestones=[],
    )
    posting = create(
        member,
        compensation="credit",
        amount=0,
        credit_arrangement="5 ECTS through the university placement office.",
        milestones=[],
    )
    assert posting.amount == 0
    assert [m.amount for m in posting.milestones.all()] == [0]  # one default milestone


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("title", "x" * 121, "at most 120 characters"),
        ("description", "x" * 20001, "at most 20000 characters"),
        ("acceptance_criteria", "x" * 5001, "at most 5000 characters"),
        ("location", "x" * 201, "at most 200 characters"),
        ("title", "", "is required"),
    ],
)
def test_over_long_and_missing_fields(member, field, value, fragment):
    refused(member, field, fragment, **{field: value})


def test_onsite_work_needs_a_place(member):
    refused(member, "location", "Say where", work_mode="onsite", location="")


def test_questions_too_long(member):
    refused(member, "questions", "at most 300", questions=[{"text": "x" * 301}])


def test_only_members_create(member):
    with pytest.raises(NotPermitted):
        services.posting_create(
            employer=member.employers.get(), actor=StudentFactory(), values=valid_values()
        )


def test_update_checks_the_same_rules_and_keeps_the_old_content(member):
    posting = create(member)
    with pytest.raises(DomainError) as exc:
        services.posting_update(
            posting=posting, actor=member, values=valid_values(duration_hours=0)
        )
    assert "duration_hours" in exc.value.fields
    posting.refresh_from_db()
    assert posting.duration_hours == 336

    services.posting_update(
        posting=posting,
        actor=member,
        values=valid_values(title="A new title for the survey", milestones=None, questions=None),
    )
    posting.refresh_from_db()
    assert posting.title == "A new title for the survey"
    assert posting.milestones.count() == 2  # None keeps them
    assert posting.questions.count() == 1


def test_published_posting_cannot_be_edited(member):
    posting = create(member)
    Posting.objects.filter(pk=posting.pk).update(status=Posting.Status.PUBLISHED)
    with pytest.raises(DomainError):
        services.posting_update(posting=posting, actor=member, values=valid_values())


# --- Moderation rules -----------------------------------------------------------------------


def test_pay_below_floor_is_flagged_and_the_employer_is_warned():
    values = valid_values(amount=30000, effort_hours=20, milestones=[])  # 15.00 per hour
    flags = rules.posting_flags(values)
    assert [f["code"] for f in flags] == ["below_pay_floor"]
    assert "15.00 USD per estimated hour" in flags[0]["message"]
    warnings = rules.posting_warnings(values)
    assert "only after a moderator approves" in warnings[0]
    assert rules.posting_flags(valid_values(amount=40000, effort_hours=20)) == []


@pytest.mark.parametrize(
    "text",
    [
        "A registration fee of 30 USD applies.",
        "Please pay a fee for the training materials.",
        "Message me on WhatsApp to agree the details.",
        "We pay you directly via PayPal, outside the platform.",
        "Contact me at boss@example.com for the brief.",
        "Call +44 20 7946 0958 to start.",
        "A refundable deposit is needed for the laptop.",
    ],
)
def test_money_and_off_platform_requests_are_flagged(text):
    values = valid_values(description=f"Analyse the survey. {text}")
    assert "money_or_off_platform" in [f["code"] for f in rules.posting_flags(values)]


def test_ordinary_text_is_not_flagged():
    values = valid_values(
        description="Build a dashboard of 2024 sales by region; we pay on approval of each part."
    )
    assert rules.posting_flags(values) == []


def test_long_time_box_for_little_pay_is_flagged():
    # Twelve weeks for 400.00 with an effort of 20 hours: fine per hour, far too long a tie-up.
    values = valid_values(
        duration_hours=12 * 168,
        effort_hours=20,
        amount=40000,
        milestones=[],
        starts_at=timezone.now() + dt.timedelta(days=14),
    )
    assert [f["code"] for f in rules.posting_flags(values)] == ["time_box_too_long_for_pay"]


def test_below_floor_posting_of_a_verified_employer_needs_a_moderator():
    member = EmployerUserFactory(employer__verified=True)
    posting = services.posting_create(
        employer=member.employers.get(),
        actor=member,
        values=valid_values(amount=20000, milestones=[]),
    )
    posting = services.posting_submit(posting=posting, actor=member)
    assert posting.status == Posting.Status.PENDING_REVIEW
    assert posting.flags[0]["code"] == "below_pay_floor"


# --- Each rule on its own ---------------------------------------------------------------------

NOW = timezone.now()

# (rule, what is wrong, the field, words of its message). Every rule has a row: a new rule
# comes with its own.
RULE_CASES = [
    (rules.title_given, {"title": "Hi"}, "title", "at least 5 characters"),
    (rules.description_given, {"description": "Too short."}, "description", "at least 20"),
    (
        rules.acceptance_criteria_given,
        {"acceptance_criteria": "  "},
        "acceptance_criteria",
        "The acceptance criteria is required.",
    ),
    (rules.choices_known, {"work_mode": "underwater"}, "work_mode", "Choose a work mode"),
    (rules.skills_within_limits, {"skills": ["x" * 51]}, "skills", "at most 50 characters"),
    (rules.time_box_in_range, {"duration_hours": None}, "duration_hours", "Give the length"),
    (rules.effort_fits_time_box, {"effort_hours": 121}, "effort_hours", "do not fit"),
    (
        rules.start_within_a_year,
        {"starts_at": NOW + dt.timedelta(days=400)},
        "starts_at",
        "within a year",
    ),
    (
        rules.deadline_before_start,
        {"application_deadline": NOW - dt.timedelta(hours=1)},
        "application_deadline",
        "must be in the future",
    ),
    (rules.openings_in_range, {"openings": "many"}, "openings", "from 1 to 50"),
    (rules.revisions_in_range, {"allowed_revisions": 11}, "allowed_revisions", "from 0 to 10"),
    (
        rules.place_given_for_onsite_work,
        {"work_mode": "hybrid", "location": "  "},
        "location",
        "Say where",
    ),
    (rules.currency_supported, {"currency": "XYZ"}, "currency", "not a supported currency"),
    (
        rules.amount_fits_compensation,
        {"compensation": "credit", "amount": 500},
        "amount",
        "carries no payment",
    ),
    (
        rules.credit_arrangement_named,
        {"credit_arrangement": "x" * 501},
        "credit_arrangement",
        "at most 500 characters",
    ),
    (
        rules.milestones_within_limit,
        {"milestones": [{"title": "Part", "due_offset_hours": 1, "amount": 0}] * 11},
        "milestones",
        "at most 10 milestones",
    ),
    (
        rules.milestones_inside_time_box,
        {"milestones": [{"title": "Late", "due_offset_hours": 400, "amount": 50000}]},
        "milestones",
        "outside the time box of 2 weeks",
    ),
    (rules.milestones_add_up, {"amount": 60000}, "milestones", "add up to 500.00 USD"),
    (rules.questions_within_limits, {"questions": [{"text": ""}]}, "questions", "is empty"),
]


def test_every_rule_has_a_case():
    assert {case[0] for case in RULE_CASES} == set(rules.POSTING_RULES)


@pytest.mark.parametrize(
    "rule,changes,field,fragment", RULE_CASES, ids=[case[0].__name__ for case in RULE_CASES]
)
def test_rule_finds_its_problem_and_passes_valid_values(rule, changes, field, fragment):
    assert list(rule(valid_values(), NOW)) == []
    problems = list(rule(valid_values(**changes), NOW))
    assert [f for f, _ in problems] == [field]
    assert fragment in problems[0][1]
    assert problems[0][1] in rules.posting_errors(valid_values(**changes), now=NOW)[field]


def test_messages_come_in_the_order_of_the_form():
    errors = rules.posting_errors(valid_values(questions=[{"text": ""}], title=""), now=NOW)
    assert list(errors) == ["title", "questions"]


def test_an_invalid_time_box_gives_one_message_not_three():
    # The effort and the milestones are checked against the time box only once it is valid.
    errors = rules.posting_errors(valid_values(duration_hours=0, effort_hours=500), now=NOW)
    assert list(errors) == ["duration_hours"]


FLAG_CASES = [
    (rules.flag_below_pay_floor, {"amount": 30000, "milestones": []}, "below_pay_floor"),
    (
        rules.flag_money_or_off_platform,
        {"questions": [{"text": "Your WhatsApp number?"}]},
        "money_or_off_platform",
    ),
    (
        rules.flag_time_box_too_long_for_pay,
        {"duration_hours": 12 * 168, "amount": 40000, "milestones": []},
        "time_box_too_long_for_pay",
    ),
]


def test_every_flag_rule_has_a_case():
    assert {case[0] for case in FLAG_CASES} == set(rules.FLAG_RULES)


@pytest.mark.parametrize("rule,changes,code", FLAG_CASES, ids=[c[2] for c in FLAG_CASES])
def test_flag_rule_flags_its_case_with_a_message_and_a_warning(rule, changes, code):
    assert rule(valid_values()) is None
    flag = rule(valid_values(**changes))
    assert flag.code == code and flag.message and flag.warning
    values = valid_values(**changes)
    assert {"code": code, "message": flag.message} in rules.posting_flags(values)
    assert flag.warning in rules.posting_warnings(values)
