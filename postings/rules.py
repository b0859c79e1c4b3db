"""The rules a posting must follow, shared by the forms, the API and the services.

``posting_errors`` checks the values of a posting (normalised: time box in hours, money in
integer minor units) and returns every problem by field, in words an employer understands: it
runs ``POSTING_RULES``, small named rules that each yield their own messages. ``posting_flags``
finds what makes a posting need a moderator even from a verified employer (``FLAG_RULES``, each
a named rule with its message for the moderator); ``posting_warnings`` is what the employer is
told of those flags before submitting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from marketplace.core.money import format_money

from .models import DAY, MAX_DURATION_HOURS, MIN_DURATION_HOURS, WEEK, Posting

MAX_TITLE = 120
MAX_DESCRIPTION = 20000
MAX_CRITERIA = 5000
MAX_LOCATION = 200
MAX_CREDIT_ARRANGEMENT = 500
MAX_SKILLS = 15
MAX_SKILL_LENGTH = 50
MAX_MILESTONES = 10
MAX_QUESTIONS = 10
MAX_QUESTION_LENGTH = 300
MAX_OPENINGS = 50
MAX_REVISIONS = 10
MAX_HOURS_PER_WEEK = 60
# A start further away than this is almost certainly a typo (2062 instead of 2026).
MAX_START_AHEAD = timedelta(days=365)


def max_amount() -> int:
    """The largest total per assignment, in minor units: above it the amount is a typo."""
    return settings.POSTING_MAX_AMOUNT


def pay_floor() -> int:
    return settings.PAY_FLOOR_PER_HOUR


def max_effort_hours(duration_hours: int) -> int:
    """The most hours of work that fit a time box: 60 hours a week, and a short box may be
    worked through (up to 8 hours in a box of a day or less)."""
    return max(min(duration_hours, 8), math.floor(MAX_HOURS_PER_WEEK * duration_hours / WEEK))


def describe_hours(hours: int) -> str:
    if hours % WEEK == 0:
        weeks = hours // WEEK
        return f"{weeks} week{'s' if weeks != 1 else ''}"
    if hours % DAY == 0:
        days = hours // DAY
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


@dataclass
class Values:
    """A posting's values as the rules see them (from a form, the API or a stored posting)."""

    title: str = ""
    description: str = ""
    acceptance_criteria: str = ""
    category: str = Posting.Category.OTHER
    skills: list[str] | None = None
    starts_at: datetime | None = None
    duration_hours: int | None = None
    effort_hours: int | None = None
    work_mode: str = Posting.WorkMode.REMOTE
    location: str = ""
    mentoring: str = Posting.Mentoring.LIGHT
    openings: int | None = 1
    application_deadline: datetime | None = None
    allowed_revisions: int | None = 2
    compensation: str = Posting.Compensation.PAID
    amount: int | None = 0
    currency: str = "USD"
    credit_arrangement: str = ""
    milestones: list[dict] | None = None
    questions: list[dict] | None = None

    @classmethod
    def of(cls, posting: Posting, *, with_children: bool = True) -> Values:
        values = cls(**{name: getattr(posting, name) for name in POSTING_FIELDS})
        if with_children and posting.pk:
            values.skills = [skill.name for skill in posting.skills.all()]
            values.milestones = [
                {"title": m.title, "due_offset_hours": m.due_offset_hours, "amount": m.amount}
                for m in posting.milestones.all()
            ]
            values.questions = [
                {"text": q.text, "required": q.required} for q in posting.questions.all()
            ]
        return values

    @property
    def is_paid(self) -> bool:
        return self.compensation == Posting.Compensation.PAID


POSTING_FIELDS = [
    "title",
    "description",
    "acceptance_criteria",
    "category",
    "starts_at",
    "duration_hours",
    "effort_hours",
    "work_mode",
    "location",
    "mentoring",
    "openings",
    "application_deadline",
    "allowed_revisions",
    "compensation",
    "amount",
    "currency",
    "credit_arrangement",
]


# --- The rules of a valid posting -----------------------------------------------------------
#
# Each rule looks at the values and yields its problems as ``(field, message)``; ``posting_errors``
# runs them in order. The order is the order the employer reads the messages in (the first one
# is the summary of a refused API call), so a new rule goes where its field sits on the form.

Problems = Iterator[tuple[str, str]]
Rule = Callable[[Values, datetime], Problems]


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _text(field: str, value: str, *, label: str, maximum: int, minimum: int = 1) -> Problems:
    value = (value or "").strip()
    if not value:
        yield field, f"{label} is required."
    elif len(value) < minimum:
        yield field, f"{label} needs at least {minimum} characters."
    elif len(value) > maximum:
        yield field, f"{label} can have at most {maximum} characters (it has {len(value)})."


def _duration(values: Values) -> int | None:
    """The time box in hours when it is given and in range (the rules that depend on it wait
    for it to be valid, so that one mistake gives one message)."""
    duration = _int(values.duration_hours)
    if duration is None or not MIN_DURATION_HOURS <= duration <= MAX_DURATION_HOURS:
        return None
    return duration


def _paid_amount(values: Values) -> int | None:
    """The amount of a paid posting when it is positive and under the limit."""
    amount = _int(values.amount)
    if not values.is_paid or amount is None or not 0 < amount <= max_amount():
        return None
    return amount


def title_given(values: Values, now: datetime) -> Problems:
    yield from _text("title", values.title, label="The title", maximum=MAX_TITLE, minimum=5)


def description_given(values: Values, now: datetime) -> Problems:
    yield from _text(
        "description",
        values.description,
        label="The description",
        maximum=MAX_DESCRIPTION,
        minimum=20,
    )


def acceptance_criteria_given(values: Values, now: datetime) -> Problems:
    yield from _text(
        "acceptance_criteria",
        values.acceptance_criteria,
        label="The acceptance criteria",
        maximum=MAX_CRITERIA,
    )


def choices_known(values: Values, now: datetime) -> Problems:
    for field, choices, label in (
        ("category", Posting.Category, "category"),
        ("work_mode", Posting.WorkMode, "work mode"),
        ("mentoring", Posting.Mentoring, "mentoring level"),
        ("compensation", Posting.Compensation, "compensation"),
    ):
        if getattr(values, field) not in choices.values:
            yield field, f"Choose a {label}: {', '.join(choices.values)}."


def skills_within_limits(values: Values, now: datetime) -> Problems:
    skills = values.skills or []
    if len(skills) > MAX_SKILLS:
        yield "skills", f"Name at most {MAX_SKILLS} skills."
    if any(len(str(skill).strip()) > MAX_SKILL_LENGTH for skill in skills):
        yield "skills", f"A skill name can have at most {MAX_SKILL_LENGTH} characters."


def time_box_in_range(values: Values, now: datetime) -> Problems:
    duration = _int(values.duration_hours)
    if duration is None:
        yield "duration_hours", "Give the length of the time box."
    elif not MIN_DURATION_HOURS <= duration <= MAX_DURATION_HOURS:
        yield (
            "duration_hours",
            f"The time box must be from 1 hour to 12 weeks ({MAX_DURATION_HOURS} hours); "
            f"{duration} hours is out of range.",
        )


def effort_fits_time_box(values: Values, now: datetime) -> Problems:
    effort, duration = _int(values.effort_hours), _duration(values)
    if effort is None:
        yield "effort_hours", "Estimate the hours of work."
    elif effort < 1:
        yield "effort_hours", "The estimated effort must be at least 1 hour."
    elif duration is not None and effort > max_effort_hours(duration):
        yield (
            "effort_hours",
            f"{effort} hours of work do not fit a time box of {describe_hours(duration)}: "
            f"at most {max_effort_hours(duration)} hours fit (60 hours a week at most).",
        )


def start_within_a_year(values: Values, now: datetime) -> Problems:
    if values.starts_at is None:
        yield "starts_at", "Give the start of the work."
    elif values.starts_at > now + MAX_START_AHEAD:
        yield "starts_at", "The work must start within a year."


def deadline_before_start(values: Values, now: datetime) -> Problems:
    starts_at, deadline = values.starts_at, values.application_deadline
    if deadline is None:
        yield "application_deadline", "Give the application deadline."
    elif deadline <= now:
        yield "application_deadline", "The application deadline must be in the future."
    elif starts_at is not None and deadline >= starts_at:
        yield (
            "application_deadline",
            "The application deadline must be before the start of the work.",
        )


def openings_in_range(values: Values, now: datetime) -> Problems:
    openings = _int(values.openings)
    if openings is None or not 1 <= openings <= MAX_OPENINGS:
        yield "openings", f"Openings must be a whole number from 1 to {MAX_OPENINGS}."


def revisions_in_range(values: Values, now: datetime) -> Problems:
    revisions = _int(values.allowed_revisions)
    if revisions is None or not 0 <= revisions <= MAX_REVISIONS:
        yield "allowed_revisions", f"Allowed revisions must be from 0 to {MAX_REVISIONS}."


def place_given_for_onsite_work(values: Values, now: datetime) -> Problems:
    needs_place = values.work_mode in (Posting.WorkMode.ONSITE, Posting.WorkMode.HYBRID)
    if needs_place and not (values.location or "").strip():
        yield "location", "Say where the work happens (on-site and hybrid work need a place)."
    if len(values.location or "") > MAX_LOCATION:
        yield "location", f"The location can have at most {MAX_LOCATION} characters."


def currency_supported(values: Values, now: datetime) -> Problems:
    if values.is_paid and values.currency not in settings.SUPPORTED_CURRENCIES:
        yield (
            "currency",
            f"“{values.currency}” is not a supported currency; choose one of "
            f"{', '.join(settings.SUPPORTED_CURRENCIES)}.",
        )


def amount_fits_compensation(values: Values, now: datetime) -> Problems:
    amount = _int(values.amount)
    if values.is_paid:
        if amount is None or amount <= 0:
            yield "amount", "A paid posting needs a positive amount."
        elif amount > max_amount():
            limit = format_money(max_amount(), values.currency or "")
            yield (
                "amount",
                f"The amount is above the limit of {limit} per assignment; check for a typo.",
            )
    elif values.compensation == Posting.Compensation.CREDIT and amount:
        yield "amount", "An academic-credit posting carries no payment: leave the amount at 0."


def credit_arrangement_named(values: Values, now: datetime) -> Problems:
    is_credit = values.compensation == Posting.Compensation.CREDIT
    if is_credit and len((values.credit_arrangement or "").strip()) < 10:
        yield (
            "credit_arrangement",
            "Name the credit arrangement: who awards the credit, how much, and how.",
        )
    if len(values.credit_arrangement or "") > MAX_CREDIT_ARRANGEMENT:
        yield (
            "credit_arrangement",
            f"The credit arrangement can have at most {MAX_CREDIT_ARRANGEMENT} characters.",
        )


def milestones_within_limit(values: Values, now: datetime) -> Problems:
    if len(values.milestones or []) > MAX_MILESTONES:
        yield "milestones", f"Split the work into at most {MAX_MILESTONES} milestones."


def milestones_inside_time_box(values: Values, now: datetime) -> Problems:
    """Each milestone has a title, a due time inside the time box and an amount (none on a
    credit posting)."""
    duration = _duration(values)
    for index, milestone in enumerate(values.milestones or [], start=1):
        title = (milestone.get("title") or "").strip()
        offset = _int(milestone.get("due_offset_hours"))
        part = _int(milestone.get("amount"))
        if not title:
            yield "milestones", f"Milestone {index} needs a title."
        elif len(title) > MAX_TITLE:
            yield (
                "milestones",
                f"Milestone {index}: the title can have at most {MAX_TITLE} characters.",
            )
        if offset is None or offset < 1:
            yield (
                "milestones",
                f"Milestone {index} needs a due time of at least 1 hour after the start.",
            )
        elif duration is not None and offset > duration:
            yield (
                "milestones",
                f"Milestone {index} is due {describe_hours(offset)} after the start, outside "
                f"the time box of {describe_hours(duration)}.",
            )
        if part is None or part < 0:
            yield "milestones", f"Milestone {index} needs an amount of 0 or more."
        elif not values.is_paid and part:
            yield "milestones", f"Milestone {index}: a credit posting's milestones carry no pay."


def milestones_add_up(values: Values, now: datetime) -> Problems:
    milestones, amount = values.milestones or [], _paid_amount(values)
    parts = [_int(milestone.get("amount")) for milestone in milestones]
    total = sum(part for part in parts if part is not None and part >= 0)
    if milestones and amount is not None and total != amount:
        yield (
            "milestones",
            f"The milestones add up to {format_money(total, values.currency)} but the total is "
            f"{format_money(amount, values.currency)}; they must be equal.",
        )


def questions_within_limits(values: Values, now: datetime) -> Problems:
    questions = values.questions or []
    if len(questions) > MAX_QUESTIONS:
        yield "questions", f"Ask at most {MAX_QUESTIONS} screening questions."
    for index, question in enumerate(questions, start=1):
        text = (question.get("text") or "").strip()
        if not text:
            yield "questions", f"Question {index} is empty."
        elif len(text) > MAX_QUESTION_LENGTH:
            yield (
                "questions",
                f"Question {index} can have at most {MAX_QUESTION_LENGTH} characters.",
            )


POSTING_RULES: tuple[Rule, ...] = (
    title_given,
    description_given,
    acceptance_criteria_given,
    choices_known,
    skills_within_limits,
    time_box_in_range,
    effort_fits_time_box,
    start_within_a_year,
    deadline_before_start,
    openings_in_range,
    revisions_in_range,
    place_given_for_onsite_work,
    currency_supported,
    amount_fits_compensation,
    credit_arrangement_named,
    milestones_within_limit,
    milestones_inside_time_box,
    milestones_add_up,
    questions_within_limits,
)


def posting_errors(values: Values, *, now: datetime | None = None) -> dict[str, list[str]]:
    """Every problem with ``values``, by field; empty when the posting is valid."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    for rule in POSTING_RULES:
        for field, message in rule(values, now):
            errors.setdefault(field, []).append(message)
    return errors


# --- Moderation rules ---------------------------------------------------------------------------

# Asking students for money, or to take payment or contact off the platform. Case-insensitive;
# the matched words are shown to the moderator.
MONEY_OR_OFF_PLATFORM = [
    r"\b(registration|application|training|joining|processing|starter|onboarding)\s+(fee|kit|cost)s?\b",
    r"\bpay\s+(us|a\s+fee|upfront|up\s+front|in\s+advance|for\s+(the\s+)?(training|materials|kit))\b",
    r"\b(refundable\s+)?deposit\b",
    r"\bpurchase\s+(a|the|our)\b",
    r"\b(whatsapp|telegram|signal\s+app|wechat|venmo|cash\s*app|zelle|paypal|western\s+union|"
    r"moneygram|crypto|bitcoin|usdt|gift\s+cards?)\b",
    r"\b(wire|bank)\s+transfer\b",
    r"\b(outside|off)\s+(of\s+)?(the\s+|this\s+)?(platform|site)\b",
    r"\bpay\s+you\s+directly\b",
    r"\b(e-?mail|text|call|message|contact)\s+me\s+(directly|at|on)\b",
    r"[\w.+-]+@[\w-]+\.[\w.]+",
    r"(\+?\d[\s().-]?){9,}\d",
]
_MONEY_RE = [re.compile(pattern, re.IGNORECASE) for pattern in MONEY_OR_OFF_PLATFORM]


def money_or_off_platform_matches(*texts: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        for pattern in _MONEY_RE:
            for match in pattern.finditer(text or ""):
                phrase = match.group(0).strip()
                if phrase.lower() not in (f.lower() for f in found):
                    found.append(phrase)
    return found


@dataclass(frozen=True)
class Flag:
    """Why a posting needs a moderator: ``message`` for the moderator, ``warning`` for the
    employer before submitting."""

    code: str
    message: str
    warning: str


def flag_below_pay_floor(values: Values) -> Flag | None:
    effort = _int(values.effort_hours) or 0
    amount = _int(values.amount) or 0
    if not (values.is_paid and effort > 0 and amount // effort < pay_floor()):
        return None
    floor = format_money(pay_floor(), values.currency)
    return Flag(
        code="below_pay_floor",
        message=(
            f"Pays {format_money(amount // effort, values.currency)} per estimated hour, "
            f"below the floor of {floor}."
        ),
        warning=(
            f"This posting pays less than {floor} per estimated hour of work. It can be "
            "published only after a moderator approves it, even for verified employers. Raise "
            "the amount or lower the estimated effort to publish without that review."
        ),
    )


def flag_money_or_off_platform(values: Values) -> Flag | None:
    matches = money_or_off_platform_matches(
        values.title,
        values.description,
        values.acceptance_criteria,
        *[q.get("text", "") for q in values.questions or []],
    )
    if not matches:
        return None
    return Flag(
        code="money_or_off_platform",
        message="May ask students for money or to move payment or contact off the platform: "
        + ", ".join(f"“{m}”" for m in matches[:5])
        + ".",
        warning=(
            "The text seems to ask students for money, or to move payment or contact off the "
            "platform. A moderator will review it; postings that do so are rejected."
        ),
    )


def flag_time_box_too_long_for_pay(values: Values) -> Flag | None:
    """A long time box for little money: less than two hours at the pay floor per week of it.

    Catches a posting that keeps the effort estimate small (so the hourly pay looks fine) while
    tying a student up for months.
    """
    duration = _int(values.duration_hours) or 0
    amount = _int(values.amount) or 0
    if not values.is_paid or duration <= WEEK or amount / (duration / WEEK) >= 2 * pay_floor():
        return None
    return Flag(
        code="time_box_too_long_for_pay",
        message=(
            f"A time box of {describe_hours(duration)} is long for "
            f"{format_money(amount, values.currency)}."
        ),
        warning="The time box is long for the pay offered: a moderator will review the posting.",
    )


FLAG_RULES: tuple[Callable[[Values], Flag | None], ...] = (
    flag_below_pay_floor,
    flag_money_or_off_platform,
    flag_time_box_too_long_for_pay,
)


def _flags(values: Values) -> list[Flag]:
    return [flag for rule in FLAG_RULES if (flag := rule(values)) is not None]


def posting_flags(values: Values) -> list[dict]:
    """Why this posting needs a moderator, as ``[{"code", "message"}]`` (empty: none)."""
    return [{"code": flag.code, "message": flag.message} for flag in _flags(values)]


def posting_warnings(values: Values) -> list[str]:
    """What the employer should know before submitting (shown on the form and the preview)."""
    return [flag.warning for flag in _flags(values)]
