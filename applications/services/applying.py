"""A student applies to a posting, or withdraws the application."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from accounts.models import User
from marketplace.core.audit import audit
from marketplace.core.errors import DomainError, NotPermitted
from postings.models import Posting

from ..models import Application
from ..uploads import check_file
from ._helpers import (
    MAX_ANSWER,
    AppStatus,
    _clean_links,
    _clean_text,
    _close_application,
    _delete_stored,
    _lock_application,
    _now,
    _require_student,
    _save_file,
    _tell_team,
)
from .reputation import employer_stats_refresh


def _clean_answers(posting: Posting, answers: dict) -> dict[str, str]:
    """The answers to the posting's screening questions by question id (as text)."""
    stored: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for question in posting.questions.all():
        answer = str(answers.get(str(question.pk), answers.get(question.pk, "")) or "").strip()
        if question.required and not answer:
            errors[f"answer_{question.pk}"] = ["Please answer this question."]
        elif len(answer) > MAX_ANSWER:
            errors[f"answer_{question.pk}"] = [f"At most {MAX_ANSWER} characters."]
        stored[str(question.pk)] = answer
    if errors:
        raise DomainError(
            "Please answer every required screening question.", code="answers", fields=errors
        )
    return stored


def application_submit(
    *,
    posting: Posting,
    student: User,
    cover_note: str,
    answers: dict | None = None,
    portfolio_links: list[str] | str | None = None,
    cv: UploadedFile | None = None,
) -> Application:
    """A student applies to a published posting (one open application per posting)."""
    if not getattr(student, "is_student", False):
        raise NotPermitted("Only students can apply.")
    posting = Posting.objects.get(pk=posting.pk)
    refusal = posting.application_refusal(_now())
    if refusal is not None:
        code, message = refusal
        raise DomainError(message, code=code)
    application = Application(
        posting=posting,
        student=student,
        cover_note=_clean_text(
            cover_note,
            field="cover_note",
            label="The cover note",
            min_length=settings.APPLICATION_COVER_NOTE_MIN,
            max_length=settings.APPLICATION_COVER_NOTE_MAX,
        ),
        answers=_clean_answers(posting, answers or {}),
        portfolio_links=_clean_links(portfolio_links, field="portfolio_links", limit=5),
    )
    checked_cv = (
        check_file(
            cv, allowed=settings.CV_ALLOWED_TYPES, max_bytes=settings.CV_MAX_BYTES, field="cv"
        )
        if cv
        else None
    )
    if Application.objects.filter(
        posting=posting, student=student, status__in=Application.OPEN
    ).exists():
        raise DomainError("You have already applied to this posting.", code="already_applied")

    saved: list[str] = []
    storage = Application._meta.get_field("cv").storage
    try:
        with transaction.atomic():
            if checked_cv:
                _save_file(saved, application.cv, checked_cv)
                application.cv_name = checked_cv.name
            _save_new(application)
            audit(action="application.submitted", target=application, actor=student)
            _tell_employer(application)
    except BaseException:
        _delete_stored(storage, saved)
        raise
    return application


def _save_new(application: Application) -> None:
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        # Two tabs submitting at once: the database's one-open-application rule wins.
        raise DomainError(
            "You have already applied to this posting.", code="already_applied"
        ) from None


def _tell_employer(application: Application) -> None:
    _tell_team(
        application,
        event="received",
        kind="application.received",
        title=(
            f"New application from {application.student.display_name} "
            f"for “{application.posting.title}”"
        ),
        body=application.cover_note[:300],
    )


@transaction.atomic
def application_withdraw(*, application: Application, actor: User) -> Application:
    application = _lock_application(application)
    _require_student(actor, application.student_id, "withdraw this application")
    if application.status == AppStatus.WITHDRAWN:
        return application
    _close_application(
        application, AppStatus.WITHDRAWN, action="application.withdrawn", actor=actor
    )
    employer_stats_refresh(employer=application.posting.employer_id)
    return application
