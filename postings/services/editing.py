"""Create, update and duplicate a posting, with its milestones, questions and skills."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Employer, User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, InvalidTransition

from .. import rules
from ..models import (
    Posting,
    PostingMilestone,
    ScreeningQuestion,
    Skill,
)
from ..rules import POSTING_FIELDS, Values, posting_errors, posting_flags
from ._helpers import (
    Status,
    _check_member,
    _lock,
)


def _validate(values: Values) -> None:
    errors = posting_errors(values)
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(first, code="invalid_posting", fields=errors)


def skills_from_names(names: Iterable[str]) -> list[Skill]:
    """The skills with these names, created when new (names are matched case-insensitively)."""
    result: list[Skill] = []
    seen: set[str] = set()
    for raw in names:
        name = " ".join(str(raw).split()).lower()[: rules.MAX_SKILL_LENGTH]
        slug = slugify(name)[:60]
        if not name or not slug or slug in seen:
            continue
        seen.add(slug)
        skill, _ = Skill.objects.get_or_create(slug=slug, defaults={"name": name})
        result.append(skill)
    return result


def _set_children(posting: Posting, values: Values) -> None:
    if values.skills is not None:
        skills = skills_from_names(values.skills)
        posting.skills.set(skills)
        posting.skill_names = ", ".join(sorted(skill.name for skill in skills))[:1000]
        posting.save(update_fields=["skill_names"])
    if values.milestones is not None or not posting.milestones.exists():
        posting.milestones.all().delete()
        milestones = values.milestones or [
            # Without milestones the whole amount is due at the end of the time box.
            {
                "title": "Final delivery",
                "due_offset_hours": posting.duration_hours,
                "amount": posting.amount,
            }
        ]
        ordered = sorted(milestones, key=lambda m: int(m["due_offset_hours"]))
        PostingMilestone.objects.bulk_create(
            PostingMilestone(
                posting=posting,
                position=position,
                title=m["title"].strip(),
                due_offset_hours=int(m["due_offset_hours"]),
                amount=int(m.get("amount") or 0),
            )
            for position, m in enumerate(ordered)
        )
    if values.questions is not None:
        posting.questions.all().delete()
        ScreeningQuestion.objects.bulk_create(
            ScreeningQuestion(
                posting=posting,
                position=position,
                text=q["text"].strip(),
                required=bool(q.get("required", True)),
            )
            for position, q in enumerate(values.questions)
        )


def search_vectors_refresh(*, posting_ids: Iterable[int] | None = None) -> None:
    """Recompute the stored full-text vectors (PostgreSQL only; SQLite searches with LIKE).

    Weights: A the title, B the skills, C the description. With it, the skills' own vector
    that the skill filter reads (``Posting.skill_vector``). One statement for any number of
    postings, so ``seed_bulk`` uses it too.
    """
    if connection.vendor != "postgresql":
        return
    sql = """
        UPDATE postings_posting AS p SET search_vector =
            setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
            || setweight(to_tsvector('english', coalesce((
                SELECT string_agg(s.name, ' ') FROM postings_skill s
                JOIN postings_posting_skills ps ON ps.skill_id = s.id
                WHERE ps.posting_id = p.id), '')), 'B')
            || setweight(to_tsvector('english', coalesce(p.description, '')), 'C'),
            -- the skills as words, "s" and the skill's id each (Posting.skill_vector)
            skill_vector = to_tsvector('simple', coalesce((
                SELECT string_agg('s' || ps.skill_id, ' ') FROM postings_posting_skills ps
                WHERE ps.posting_id = p.id), ''))
    """
    with connection.cursor() as cursor:
        if posting_ids is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql + " WHERE p.id = ANY(%s)", [list(posting_ids)])


@transaction.atomic
def posting_create(*, employer: Employer, actor: User, values: Values) -> Posting:
    """Create a draft posting after checking every rule (see ``postings.rules``)."""
    _check_member(employer, actor)
    _validate(values)
    posting = Posting(employer=employer, created_by=actor, status=Status.DRAFT)
    _save(posting, values)
    audit(action="posting.created", target=posting, actor=actor)
    return posting


def _save(posting: Posting, values: Values) -> None:
    """Write checked ``values`` into the posting, its children and its search text."""
    for name in POSTING_FIELDS:
        setattr(posting, name, getattr(values, name))
    _normalise(posting)
    posting.flags = posting_flags(values)
    posting.save()
    _set_children(posting, values)
    search_vectors_refresh(posting_ids=[posting.pk])


def _normalise(posting: Posting) -> None:
    posting.title = posting.title.strip()
    posting.location = posting.location.strip()
    if posting.compensation == Posting.Compensation.CREDIT:
        posting.amount = 0
    else:
        posting.credit_arrangement = ""


@transaction.atomic
def posting_update(*, posting: Posting, actor: User, values: Values) -> Posting:
    """Change a draft (or a posting sent back with changes requested).

    ``values`` holds the whole posting; ``skills``, ``milestones`` and ``questions`` set to None
    are kept as they are.
    """
    _check_member(posting, actor)
    posting = _lock(posting)
    if posting.status not in Posting.EDITABLE:
        raise InvalidTransition(
            f"A posting that is {posting.get_status_display().lower()} cannot be edited; "
            "duplicate it to make a new one."
        )
    current = Values.of(posting)
    for name in ("skills", "milestones", "questions"):
        if getattr(values, name) is None:
            setattr(values, name, getattr(current, name))
    _validate(values)
    changed = [name for name in POSTING_FIELDS if getattr(posting, name) != getattr(values, name)]
    _save(posting, values)
    audit(action="posting.updated", target=posting, actor=actor, fields=changed)
    return posting


@transaction.atomic
def posting_duplicate(*, posting: Posting, actor: User) -> Posting:
    """A new draft with the same content; dates in the past move forward by a week from now."""
    _check_member(posting, actor)
    source = Posting.objects.get(pk=posting.pk)
    values = Values.of(source)
    now = timezone.now()
    deadline, starts_at = source.application_deadline, source.starts_at
    if deadline <= now:
        shift = now + timedelta(days=7) - deadline
        values.application_deadline = deadline + shift
        values.starts_at = starts_at + shift
    copy = Posting(employer_id=source.employer_id, created_by=actor, status=Status.DRAFT)
    for name in POSTING_FIELDS:
        setattr(copy, name, getattr(values, name))
    copy.flags = posting_flags(values)
    copy.save()
    _set_children(copy, values)
    search_vectors_refresh(posting_ids=[copy.pk])
    audit(action="posting.duplicated", target=copy, actor=actor, source=source.pk)
    return copy
