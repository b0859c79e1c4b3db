"""Factories and helpers for the applications tests.

Factories build rows directly (a fixture in a given state); tests of behaviour call the services.
``walk_to`` moves an application through the real services to a state.
"""

import io
import zipfile

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from factory.django import DjangoModelFactory

from accounts.models import Membership
from applications import services
from applications.models import Application, Assignment, Milestone
from tests.factories import (
    CreditPostingFactory,
    EmployerUserFactory,
    PostingFactory,
    StudentFactory,
)

COVER_NOTE = (
    "I analysed survey data for two student societies and I enjoy turning numbers into "
    "clear recommendations."
)


class ApplicationFactory(DjangoModelFactory):
    class Meta:
        model = Application

    posting = factory.SubFactory(PostingFactory)
    student = factory.SubFactory(StudentFactory)
    cover_note = COVER_NOTE
    status = Application.Status.SUBMITTED


def employer_of(posting):
    """An owner of the posting's organisation (created on first use)."""
    membership = Membership.objects.filter(employer=posting.employer).select_related("user").first()
    if membership:
        return membership.user
    return EmployerUserFactory(employer=posting.employer)


def walk_to(application: Application, status: str):
    """Move ``application`` through the services to ``status`` (returns the application, or
    the assignment for ``accepted``)."""
    employer = employer_of(application.posting)
    student = application.student
    S = Application.Status
    if status == S.SUBMITTED:
        return application
    if status == S.WITHDRAWN:
        return services.application_withdraw(application=application, actor=student)
    if status == S.REJECTED:
        return services.application_reject(application=application, actor=employer)
    if status == S.SHORTLISTED:
        return services.application_shortlist(application=application, actor=employer)
    services.application_offer(application=application, actor=employer)
    if status == S.OFFERED:
        application.refresh_from_db()
        return application
    if status == S.ACCEPTED:
        return services.application_accept(application=application, actor=student)
    if status == S.DECLINED:
        return services.application_decline(application=application, actor=student)
    raise ValueError(status)


def accepted_assignment(*, credit: bool = False, milestones=None, **posting_kwargs) -> Assignment:
    """An assignment made through the services (a paid one is awaiting funding)."""
    factory_class = CreditPostingFactory if credit else PostingFactory
    kwargs = dict(posting_kwargs)
    if milestones is not None:
        kwargs["milestones"] = milestones
    posting = factory_class(**kwargs)
    employer_of(posting)
    application = ApplicationFactory(posting=posting)
    return walk_to(application, Application.Status.ACCEPTED)


def active_assignment(**kwargs) -> Assignment:
    assignment = accepted_assignment(**kwargs)
    if assignment.status == Assignment.Status.AWAITING_FUNDING:
        assignment = services.assignment_mark_funded(assignment=assignment)
    return assignment


def first_milestone(assignment: Assignment) -> Milestone:
    return assignment.milestones.order_by("position", "id").first()


# --- Files ------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf(name="report.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def png(name="chart.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def text(name="notes.md", content=b"# Findings\n\nAll good.\n"):
    return SimpleUploadedFile(name, content, content_type="text/markdown")


def docx(name="report.docx"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/msword")


def submit(milestone, *, files=None, links=None, note="Here is the work."):
    assignment = milestone.assignment
    return services.submission_create(
        milestone=milestone,
        actor=assignment.student,
        note=note,
        links=links if links is not None else ([] if files else ["https://example.com/work"]),
        files=files or [],
    )
