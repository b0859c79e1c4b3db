"""The application and assignment pages, drawn both by their own views and by a refused form
post, which draws the page again (status 400) with the bound form in its place: the user sees
the error summary and everything they typed, never a redirect that drops it."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from postings.markdown import render_markdown

from . import selectors
from .forms import DisputeForm, MessageForm, OfferForm, RatingForm, RejectForm, RevisionForm
from .models import Application, Assignment
from .selectors import EMPLOYER, STAFF, STUDENT

# Milestone statuses after which nothing more happens to show (the status poll stops).
SETTLED = {"paid", "resolved", "open", "revision_requested", "disputed"}


def milestone_auto_id(milestone_pk: int) -> str:
    """Field ids of one milestone's revision and dispute forms: the forms are drawn under every
    milestone, so each needs its own ids for labels and error-summary links to reach it."""
    return f"id_ms{milestone_pk}_%s"


def _milestone_forms(milestones, bound: dict) -> None:
    """Gives each milestone its revision and dispute forms: the bound one a refused post
    brought back (``bound[(milestone pk, "revision" | "dispute")]``), an empty one elsewhere."""
    for m in milestones:
        auto_id = milestone_auto_id(m.pk)
        m.revision_form = bound.get((m.pk, "revision")) or RevisionForm(auto_id=auto_id)
        m.dispute_form = bound.get((m.pk, "dispute")) or DisputeForm(auto_id=auto_id)


def _can_rate(assignment: Assignment, role: str, own_rating) -> bool:
    return (
        role in (STUDENT, EMPLOYER)
        and assignment.status == Assignment.Status.COMPLETED
        and own_rating is None
        and assignment.rating_due_at is not None
        and assignment.rating_due_at > timezone.now()
    )


def assignment_page(
    request, assignment: Assignment, role: str, *, rating_form=None, milestone_forms=None
):
    """The assignment page; with a bound form (a refused post) it answers 400."""
    milestones = selectors.milestones_with_submissions(assignment)
    _milestone_forms(milestones, milestone_forms or {})
    has_work = any(m.submissions.all() for m in milestones)
    ratings = selectors.ratings_visible(assignment=assignment, role=role)
    own_rating = None
    if role != STAFF:
        own_rating = ratings["by_student"] if role == STUDENT else ratings["by_employer"]
    student_side = role == STUDENT
    refused = rating_form is not None or bool(milestone_forms)
    return render(
        request,
        "applications/assignment.html",
        {
            "assignment": assignment,
            "posting": assignment.posting,
            "brief_html": render_markdown(assignment.posting.description),
            "criteria_html": render_markdown(assignment.posting.acceptance_criteria),
            "settled": SETTLED,
            "role": role,
            "milestones": milestones,
            "can_cancel": assignment.is_open and not has_work and role in (STUDENT, EMPLOYER),
            "own_side_agreed": assignment.cancel_agreed_by_student_at
            if student_side
            else assignment.cancel_agreed_by_employer_at,
            "other_side_agreed": assignment.cancel_agreed_by_employer_at
            if student_side
            else assignment.cancel_agreed_by_student_at,
            "ratings": ratings,
            "own_rating": own_rating,
            "can_rate": _can_rate(assignment, role, own_rating),
            "rating_form": rating_form or RatingForm(),
            "can_reinvite": role == EMPLOYER and assignment.status == Assignment.Status.COMPLETED,
        },
        status=400 if refused else 200,
    )


def application_page(
    request,
    application: Application,
    role: str,
    *,
    message_form: MessageForm,
    reject_form=None,
    offer_form=None,
):
    """The application page (thread, decision); with a bound form (a refused post) it answers
    400."""
    posting = application.posting
    questions = list(posting.questions.all())
    context = {
        "application": application,
        "posting": posting,
        "role": role,
        "answers": [(q, application.answers.get(str(q.pk), "")) for q in questions],
        "thread": selectors.thread_messages(application),
        "thread_open": application.status in Application.THREAD_OPEN and role != STAFF,
        "message_form": message_form,
        "reject_form": reject_form or RejectForm(),
        "offer_form": offer_form or OfferForm(),
        "assignment": getattr(application, "assignment", None),
        "offer_expired": selectors.offer_deadline_passed(application),
    }
    if role in (EMPLOYER, STAFF):
        context["student_summary"] = {
            "completed": Assignment.objects.filter(
                student=application.student, status=Assignment.Status.COMPLETED
            ).count(),
            **selectors.student_rating_summary(application.student),
        }
    refused = reject_form is not None or offer_form is not None
    return render(request, "applications/detail.html", context, status=400 if refused else 200)
