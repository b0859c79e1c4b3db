"""The back office: every page of this app renders for staff, nothing there edits a row
directly, and the staff cancellation action goes through the service."""

import pytest
from django.urls import reverse

from applications import services
from applications.models import Assignment
from marketplace.core.audit import AuditLog
from tests.applications.factories import (
    active_assignment,
    employer_of,
    first_milestone,
    pdf,
    submit,
)
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def test_every_admin_page_renders(staff_client):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submission = submit(milestone, files=[pdf()])
    dispute = services.dispute_open(
        milestone=milestone, actor=employer_of(assignment.posting), reason="Not what we asked."
    )
    for model, obj in [
        ("application", assignment.application),
        ("assignment", assignment),
        ("submission", submission),
        ("dispute", dispute),
    ]:
        changelist = staff_client.get(reverse(f"admin:applications_{model}_changelist"))
        assert changelist.status_code == 200, model
        change = staff_client.get(reverse(f"admin:applications_{model}_change", args=[obj.pk]))
        assert change.status_code == 200, model
    page = staff_client.get(reverse("admin:applications_submission_change", args=[submission.pk]))
    # Files are linked through the permission-checking view, never a storage URL.
    file_url = reverse("applications:file", args=[submission.files.get().pk])
    assert file_url in page.content.decode()


def test_rows_are_read_only_in_the_back_office(staff_client):
    assignment = active_assignment()
    url = reverse("admin:applications_assignment_change", args=[assignment.pk])
    response = staff_client.post(url, {"status": "completed"})
    assert response.status_code == 403
    assignment.refresh_from_db()
    assert assignment.status == "active"


def test_cancel_action_through_the_service(staff_client):
    assignment = active_assignment()
    response = staff_client.post(
        reverse("admin:applications_assignment_changelist"),
        {"action": "cancel_assignments", "_selected_action": [assignment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CANCELLED
    assert AuditLog.objects.filter(action="assignment.cancelled").exists()


def test_beat_schedule_names_registered_tasks():
    from django.conf import settings

    from marketplace.celery import app

    names = [
        entry["task"]
        for key, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if key.startswith("applications-")
    ]
    assert len(names) == 5
    app.loader.import_default_modules()
    assert set(names) <= set(app.tasks)


def test_staff_decide_a_dispute_in_the_admin_through_the_service(staff_client):
    assignment = active_assignment()
    milestone = first_milestone(assignment)
    submit(milestone, files=[pdf()])
    dispute = services.dispute_open(
        milestone=milestone, actor=employer_of(assignment.posting), reason="Not what we asked."
    )
    url = reverse("admin:applications_dispute_change", args=[dispute.pk])
    response = staff_client.post(
        url, {"resolution": "release", "student_amount": "", "resolution_note": "Delivered."}
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    milestone.refresh_from_db()
    assert dispute.resolution == "release"
    assert dispute.student_amount == milestone.amount
    assert dispute.resolved_at is not None
    assert milestone.status == "resolved"
    assert AuditLog.objects.filter(action="dispute.resolved", target_id=str(dispute.pk)).exists()
